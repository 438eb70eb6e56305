package console

// rolloutMessages are the texts of the rollout pages (SPEC §10): the list,
// a rollout with its waves, targets and events, and the form that creates
// one. "分批发布" says what a rollout does: one version, batch by batch
// (批次 is a wave). They join messages at start; a key in both is a
// build error.
var rolloutMessages = map[string][2]string{
	"nav.rollouts": {"Rollouts", "分批发布"},

	"rollout.list_title": {"Rollouts", "分批发布"},
	"rollout.none":       {"No rollouts yet. Start one from a published driver version: Roll out.", "还没有分批发布。可在已发布的驱动版本页面单击“分批发布”开始。"},
	"rollout.new":        {"New rollout", "新建分批发布"},
	"rollout.title":      {"Rollout", "分批发布"},
	"rollout.name":       {"Name", "名称"},
	"rollout.driver":     {"Driver", "驱动"},
	"rollout.publisher":  {"Publisher", "发布者"},
	"rollout.version":    {"Version", "版本"},
	"rollout.state":      {"State", "状态"},
	"rollout.progress":   {"Progress", "进度"},
	"rollout.progress_n": {"%d of %d succeeded", "%d / %d 成功"},
	"rollout.failed_n":   {"%d failed", "%d 个失败"},
	"rollout.created_by": {"Created by", "创建者"},
	"rollout.finished":   {"Finished", "结束时间"},
	"rollout.reason":     {"Reason", "原因"},
	"rollout.refreshing": {"This page refreshes by itself while the rollout is active.", "分批发布进行期间，本页自动刷新。"},
	"rollout.roll_out":   {"Roll out", "分批发布"},
	"rollout.roll_out_hint": {"Move instances that have this driver to this version, in waves that stop by themselves when too many fail.",
		"将已分配该驱动的实例分批更新到此版本；失败过多时自动停止。"},

	// Waves
	"rollout.waves":          {"Waves", "批次"},
	"rollout.wave_n":         {"Wave %d", "第 %d 批"},
	"rollout.wave_percent":   {"up to %d%% of the targets", "累计 %d%% 的目标实例"},
	"rollout.wave_counts":    {"%d succeeded, %d failed, %d pending, %d rolled back, of %d", "成功 %d，失败 %d，待完成 %d，已回滚 %d，共 %d"},
	"rollout.current":        {"current wave", "当前批次"},
	"rollout.thresholds":     {"The next wave starts when %d%% of a wave succeeded; the rollout aborts when more than %d%% of a wave failed, or a wave is unfinished %s after it started.", "一个批次成功达到 %d%% 后开始下一批；一个批次失败超过 %d%%，或开始后 %s 仍未完成，分批发布将中止。"},
	"rollout.on_abort_is":    {"On abort: %s.", "中止时：%s。"},
	"rollout.success_marker": {"success threshold", "成功阈值"},
	"rollout.legend":         {"Legend", "图例"},

	// Counts and targets
	"rollout.counts":        {"Targets by state", "各状态的目标实例"},
	"rollout.targets":       {"Targets", "目标实例"},
	"rollout.all_states":    {"All states", "全部状态"},
	"rollout.instance":      {"Instance", "实例"},
	"rollout.wave":          {"Wave", "批次"},
	"rollout.deployment":    {"Deployment", "部署"},
	"rollout.problems":      {"Problems", "问题"},
	"rollout.no_targets":    {"No target in this state.", "没有处于该状态的目标实例。"},
	"rollout.show_failed":   {"Show the failed targets and why", "查看失败的目标实例及原因"},
	"rollout.no_wave":       {"none (skipped)", "无（已跳过）"},
	"rollout.events":        {"Events", "事件"},
	"rollout.event_time":    {"Time", "时间"},
	"rollout.event_type":    {"Event", "事件"},
	"rollout.event_message": {"Details", "详情"},

	// Actions
	"rollout.pause":            {"Pause", "暂停"},
	"rollout.resume":           {"Resume", "继续"},
	"rollout.cancel":           {"Cancel rollout", "终止分批发布"},
	"rollout.cancel_body":      {"Cancel rollout %s? No further wave starts; deployments already made finish as they will, and nothing is rolled back.", "终止分批发布 %s？不再开始新的批次；已创建的部署会继续完成，不会回滚。"},
	"rollout.pause_hint":       {"Pausing stops new waves; deployments under way go on, and a wave that fails still aborts the rollout.", "暂停后不再开始新的批次；进行中的部署会继续，批次失败时仍会中止。"},
	"rollout.viewer_hint":      {"Only developers and admins can pause, resume or cancel a rollout.", "只有开发者和管理员可以暂停、继续或终止分批发布。"},
	"notice.rollout_created":   {"Rollout created: the first wave starts now.", "分批发布已创建：第一批现在开始。"},
	"notice.rollout_paused":    {"Rollout paused.", "分批发布已暂停。"},
	"notice.rollout_resumed":   {"Rollout resumed.", "分批发布已继续。"},
	"notice.rollout_cancelled": {"Rollout cancelled.", "分批发布已终止。"},

	// The form
	"rollout.form_title":        {"Roll out a driver version", "分批发布驱动版本"},
	"rollout.name_hint":         {"A name people will recognise, such as “meter 2.0 to Shanghai”.", "便于识别的名称，例如“电表 2.0 发布到上海”。"},
	"rollout.publisher_hint":    {"Empty for your own driver; the publisher's name for an acquired one.", "自己的驱动留空；已获取的驱动填写其发布者。"},
	"rollout.selector":          {"Instances", "实例范围"},
	"rollout.by_tags":           {"By tags", "按标签"},
	"rollout.by_instances":      {"By name", "按实例名称"},
	"rollout.selector_text":     {"Tags or instance names", "标签或实例名称"},
	"rollout.selector_hint":     {"By tags: one key=value per line, every tag must match (no line: every instance). By name: instance names, one per line or separated by commas. Instances without the driver are skipped.", "按标签：每行一个 键=值，须全部匹配（不填：全部实例）。按名称：每行一个实例名称，或用逗号分隔。未分配该驱动的实例将跳过。"},
	"rollout.waves_label":       {"Waves (cumulative percentages)", "批次（累计百分比）"},
	"rollout.waves_hint":        {"Rising percentages of the targets, the last 100: 1, 10, 50, 100 makes four waves.", "逐步增大的目标实例百分比，最后一个为 100：1, 10, 50, 100 表示分四批。"},
	"rollout.success_label":     {"Success threshold (%)", "成功阈值（%）"},
	"rollout.success_hint":      {"The share of a wave that must succeed before the next starts.", "一个批次成功达到该比例后才开始下一批。"},
	"rollout.failure_label":     {"Failure threshold (%)", "失败阈值（%）"},
	"rollout.failure_hint":      {"More than this share of a wave failed aborts the rollout (0: the first failure).", "一个批次失败超过该比例即中止（0：首次失败即中止）。"},
	"rollout.timeout_label":     {"Wave timeout", "批次超时"},
	"rollout.timeout_hint":      {"Deployments of a wave unfinished this long after it started count as failed: 30m, 2h…", "批次开始后超过该时长仍未完成的部署计为失败：30m、2h…"},
	"rollout.on_abort":          {"On abort", "中止时"},
	"rollout.on_abort.rollback": {"roll back: give the instances their previous version again", "回滚：恢复各实例之前的版本"},
	"rollout.on_abort.stop":     {"stop: leave the instances as they are", "停止：保持各实例现状"},
	"rollout.paused_label":      {"Create it paused (nothing starts until resumed)", "创建后暂停（继续前不开始）"},
	"rollout.create":            {"Start rollout", "开始分批发布"},

	// Why a target was skipped or did not succeed (problem codes)
	"rollout.problem.not_bound":                {"Driver not bound", "未分配该驱动"},
	"rollout.problem.other_publisher":          {"Another publisher's driver", "其他发布者的驱动"},
	"rollout.problem.instance_missing":         {"No such instance", "实例不存在"},
	"rollout.problem.deployment_failed":        {"Deployment failed", "部署失败"},
	"rollout.problem.deployment_replaced":      {"Deployment replaced", "部署已被取代"},
	"rollout.problem.wave_timeout":             {"Wave timed out", "批次超时"},
	"rollout.problem.rollback_failed":          {"Rollback refused", "回滚被拒绝"},
	"rollout.problem.rollback_binding_changed": {"Changed since: not rolled back", "已被修改，未回滚"},

	// Rollout states
	"rollout.state.running":   {"Running", "进行中"},
	"rollout.state.paused":    {"Paused", "已暂停"},
	"rollout.state.succeeded": {"Succeeded", "已成功"},
	"rollout.state.aborted":   {"Aborted", "已中止"},
	"rollout.state.cancelled": {"Cancelled", "已终止"},

	// Wave states
	"rollout.wave_state.waiting":   {"Waiting", "等待中"},
	"rollout.wave_state.running":   {"Running", "进行中"},
	"rollout.wave_state.succeeded": {"Succeeded", "已成功"},
	"rollout.wave_state.failed":    {"Failed", "失败"},
	"rollout.wave_state.stopped":   {"Stopped", "已停止"},

	// Target states
	"target.state.waiting":     {"Waiting", "等待批次"},
	"target.state.pending":     {"Pending", "等待中"},
	"target.state.processing":  {"Processing", "部署中"},
	"target.state.succeeded":   {"Succeeded", "部署成功"},
	"target.state.failed":      {"Failed", "部署失败"},
	"target.state.superseded":  {"Superseded", "已被取代"},
	"target.state.rolled_back": {"Rolled back", "已回滚"},
	"target.state.skipped":     {"Skipped", "已跳过"},

	// Event types
	"rollout.event.created":        {"Created", "已创建"},
	"rollout.event.wave_started":   {"Wave started", "批次开始"},
	"rollout.event.wave_succeeded": {"Wave succeeded", "批次成功"},
	"rollout.event.succeeded":      {"Succeeded", "已成功"},
	"rollout.event.aborted":        {"Aborted", "已中止"},
	"rollout.event.rolled_back":    {"Rolled back", "已回滚"},
	"rollout.event.paused":         {"Paused", "已暂停"},
	"rollout.event.resumed":        {"Resumed", "已继续"},
	"rollout.event.cancelled":      {"Cancelled", "已终止"},
}

func init() { join(messages, rolloutMessages) }
