package console

// firstHourMessages are the texts of what a newcomer's first hour needs
// beyond messages.go: the uploaded file to confirm, the fleet's edge and
// runtime versions, what publishing makes permanent, log panes, the
// marketplace search, the running version of a bound driver. They join
// messages at start; a key in both is a build error.
var firstHourMessages = map[string][2]string{
	// The uploaded package, confirmed (上传成功后，单击确认)
	"upload.check_and_confirm":   {"The driver file is uploaded. Check what it holds below, then click Confirm to save the version.", "驱动文件上传成功。请核对下方文件信息，然后单击“确认”保存版本。"},
	"upload.file":                {"Uploaded file: %s", "已上传文件：%s"},
	"upload.uploaded":            {"uploaded", "上传成功"},
	"upload.name":                {"File name", "文件名"},
	"upload.size":                {"Size", "大小"},
	"upload.entry":               {"Entry file", "入口文件"},
	"upload.entry_found":         {"%s found at the top level", "已在顶层找到 %s"},
	"upload.confirm_hint":        {"Nothing is saved yet: Confirm saves the version with this file; choose another file to replace it.", "尚未保存：单击“确认”将使用该文件保存版本；如需替换，请重新选择文件。"},
	"upload.confirm_button_hint": {"Saves the version with the file above.", "使用上方文件保存版本。"},

	// The edge version, chosen (选择驱动适配的边缘版本)
	"edge.server":               {"this server's edge agent", "本服务器的边缘代理版本"},
	"edge.fleet":                {"run by your gateways", "您的网关正在运行"},
	"edge.server_and_fleet":     {"this server's, run by your gateways", "本服务器版本，您的网关正在运行"},
	"edge.other":                {"Another version…", "其他版本…"},
	"edge.other_label":          {"Another edge version", "其他边缘版本"},
	"edge.other_hint":           {"MAJOR.MINOR.PATCH, for example 1.2.0. When filled in, it is used instead of the list.", "主版本.次版本.修订号，例如 1.2.0。填写后将代替列表中的选择。"},
	"form.gateways_have":        {"gateways have %s", "网关已有 %s"},
	"form.runtime_hint":         {"Beside each language: the versions your gateways reported. A gateway without it cannot run the driver.", "各语言旁显示您的网关上报的版本。没有该语言运行环境的网关无法运行该驱动。"},
	"version.download":          {"Download %s", "下载 %s"},
	"version.published_hint":    {"Published %s. It can be viewed and downloaded; only its description can change.", "发布于 %s。只能查看或下载，仅可修改描述。"},
	"version.description_label": {"Version description (the only part that can change)", "驱动版本描述（唯一可修改的内容）"},

	// What publishing makes permanent
	"publish.permanent": {"These become permanent:", "以下内容发布后将不可更改："},
	"facts.builtin":     {"Built-in: the gateway holds the driver; no file.", "内置驱动：网关自带，无驱动文件。"},
	"facts.no_pairs":    {"No pairs.", "没有键值对。"},
	"facts.no_config":   {"No driver config.", "没有驱动配置。"},

	// Drivers list and marketplace
	"drivers.latest":           {"Newest version", "最新版本"},
	"drivers.latest_published": {"published: %s", "已发布：%s"},
	"drivers.no_versions":      {"no versions yet", "尚无版本"},
	"drivers.not_listed":       {"not listed", "未上架"},
	"market.search_hint":       {"title, summary, publisher or driver", "商品名称、简介、发布者或驱动名称"},
	"market.clear":             {"Clear", "清除"},
	"market.none_match":        {"No listing matches these filters.", "没有符合筛选条件的驱动。"},

	// Logs
	"logs.count":   {"Newest %d lines, the latest at the bottom", "最新 %d 行，最新的在最下方"},
	"logs.more":    {"Show more lines", "显示更多日志"},
	"logs.entries": {"%d entries, the latest at the bottom", "%d 条记录，最新的在最下方"},

	// Gateways and bound drivers
	"gateway.capabilities":       {"Can enforce", "可执行能力"},
	"gateway.isolation":          {"isolation:", "隔离："},
	"gateway.cgroup":             {"cgroup:", "cgroup："},
	"gateway.runtime_versions":   {"Language runtimes", "语言运行环境"},
	"gateway.not_reported":       {"not reported yet", "尚未上报"},
	"gateway.no_isolation_hint":  {"This gateway cannot isolate drivers: versions that need a private network, port mappings or volume mappings cannot be deployed to it.", "该网关无法隔离驱动：需要独立网络、端口映射或卷映射的版本无法部署到该网关。"},
	"binding.bound_version":      {"Bound version", "分配的版本"},
	"binding.running_version":    {"Running version", "运行的版本"},
	"runtime.stale":              {"stale", "已过时"},
	"runtime.stale_hint":         {"The gateway is offline: this is its last report.", "网关离线：这是它最后一次上报的状态。"},
	"runtime.other_version_hint": {"The gateway runs another version than the bound one until the next deployment.", "在下次部署前，网关运行的版本与分配的版本不同。"},

	"binding.config_required_met":        {"This version requires an instance driver config, and this instance has one.", "该版本要求设置实例驱动配置，本实例已设置。"},
	"binding.device_config_missing":      {"This version requires a device config for every sub-device: %d still lack one.", "该版本要求每个子设备都设置设备配置：仍有 %d 个未设置。"},
	"binding.device_config_required_met": {"This version requires a device config for every sub-device, and each has one.", "该版本要求每个子设备都设置设备配置，均已设置。"},
	"unbind.heading":                     {"Remove driver from instance", "从实例移除驱动"},
	"unbind.body":                        {"Remove driver %s from this instance? Its instance driver config and log lines are deleted. The gateway keeps running it until the next deployment.", "从该实例移除驱动 %s？其实例驱动配置和日志将被删除。网关会继续运行它，直到下次部署。"},

	// The gateway secret, never on a command line
	"secret.copy":       {"Copy", "复制"},
	"secret.copied":     {"Copied", "已复制"},
	"secret.step1_hint": {"The command waits for the secret: paste it (nothing is shown) and press Enter. It never appears in a command line or the shell's history. Needs bash.", "命令会等待输入密钥：粘贴密钥（不会显示）后按回车。密钥不会出现在命令行或 shell 历史记录中。需要 bash。"},
}

func init() { join(messages, firstHourMessages) }
