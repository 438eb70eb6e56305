package console

// rolloutServiceMessages translate the rollout service's messages (SPEC
// §10) into Chinese, as serviceMessages does for the rest; they join
// serviceMessages at start, and a format in both is a build error.
var rolloutServiceMessages = map[string]string{
	"rollout":                                               "分批发布",
	"only a running rollout can be paused":                  "只能暂停进行中的分批发布",
	"only a paused rollout can be resumed":                  "只能恢复已暂停的分批发布",
	"only a running or paused rollout can be cancelled":     "只能取消进行中或已暂停的分批发布",
	"rollout %s is %s: %s":                                  "分批发布 %s 的状态为%s：%s",
	"the rollout changed while this request ran: try again": "在此请求执行期间分批发布已发生变化：请重试",

	// The input (rollout.go): every field problem at once.
	"is required: the name of the driver to roll out":                           "必填：要发布的驱动名称",
	"is required: the version to roll out":                                      "必填：要发布的版本",
	"is required: {\"tags\": {\"site\": \"…\"}} or {\"instances\": [\"…\", …]}": "必填：{\"tags\": {\"site\": \"…\"}} 或 {\"instances\": [\"…\", …]}",
	"must hold either tags or instances, not both":                              "只能指定标签或实例之一，不能同时指定",
	"must name at least one instance":                                           "至少要指定一个实例",
	"may name at most %d instances, got %d":                                     "最多指定%d个实例，实际为%d个",
	"must be an instance name: 1-%d letters, digits, '_' or '-'":                "必须是实例名称：1-%d个字母、数字、“_”或“-”",
	"must be a percentage from 0 to 100, got %d":                                "必须是0到100之间的百分比，实际为%d",
	"must be a percentage from 1 to 100, got %d":                                "必须是1到100之间的百分比，实际为%d",
	"must be a duration from %s to %s, such as 30m or 2h; got %q":               "必须是%s到%s之间的时长，例如30m或2h；实际为%q",
	"must list 1-%d cumulative percentages, such as [1, 10, 50, 100]":           "必须列出1-%d个累计百分比，例如[1, 10, 50, 100]",
	"must be above the wave before (%d%%): waves are cumulative percentages":    "必须大于上一批（%d%%）：各批次是累计百分比",
	"must be 100: the last wave reaches every target, got %d":                   "必须为100：最后一批覆盖所有目标，实际为%d",

	// Planning: targets and what keeps a rollout from starting.
	"version %s of %s is a draft: publish it first, so that every wave gets the same package": "%[2]s 的版本 %[1]s 是草稿：请先发布，以便每一批都获得相同的驱动文件",
	"rollout %s cannot start: %d problems":                                                    "分批发布 %s 无法开始：有%d个问题",
	"rollout %s cannot start: 1 problem":                                                      "分批发布 %s 无法开始：有1个问题",
	"no instance matches the selector":                                                        "没有实例符合选择条件",
	"none of the %d instances the selector matches has %s/%s bound: bind it first (see the skipped targets' reasons)": "符合选择条件的%d个实例都没有绑定 %s/%s：请先绑定（见跳过的目标的原因）",
	"no instance is named %s":                           "没有名为 %s 的实例",
	"%s is not bound to instance %s":                    "%s 未绑定到实例 %s",
	"instance %s runs another publisher's %s, not %s's": "实例 %s 运行的是其他发布者的 %s，而不是 %s 的",
	"instances %s and %d more are targets of %s rollout %q (%s) of %s: wait for it to end, or cancel it": "实例 %[1]s 等%[2]d个实例是 %[6]s 的%[3]s分批发布 %[4]q（%[5]s）的目标：请等待其结束或取消它",
	"instances %s are targets of %s rollout %q (%s) of %s: wait for it to end, or cancel it":             "实例 %[1]s 是 %[5]s 的%[2]s分批发布 %[3]q（%[4]s）的目标：请等待其结束或取消它",

	// Targets on the way: deployments and rollbacks.
	"instance %s was deleted":                                         "实例 %s 已被删除",
	"%s was unbound from instance %s":                                 "%s 已从实例 %s 解绑",
	"instance %s was bound to another publisher's %s":                 "实例 %s 已绑定到其他发布者的 %s",
	"%s on %s was bound to version %s since: left as it is":           "%[2]s 上的 %[1]s 此后已绑定到版本 %[3]s：保持不变",
	"the rollback to %s was refused: %s":                              "回滚到 %s 被拒绝：%s",
	"the gateway reported that the deployment failed":                 "网关报告部署失败",
	"the rollout's deployment was replaced: its instance was deleted": "分批发布的部署已被取代：其实例已被删除",
	"the rollout's deployment was replaced: it was %s: %s":            "分批发布的部署已被取代：状态为%s：%s",

	// The log and the reason a rollout keeps (with their formats, so that
	// a rollout of any age reads in the page's language).
	"created by %s: %s %s to %d instances in %d waves (%d skipped)": "由 %[1]s 创建：将 %[2]s %[3]s 发布到%[4]d个实例，分%[5]d批（跳过%[6]d个）",
	"paused by %s":    "由 %s 暂停",
	"resumed by %s":   "由 %s 继续",
	"cancelled by %s": "由 %s 终止",
	"wave %d of %d started: %d targets (%d%% of the rollout)":                                          "第%[1]d批（共%[2]d批）开始：%[3]d个目标（占全部的%[4]d%%）",
	"wave %d passed: it has no targets left":                                                           "第%d批已通过：没有剩余的目标",
	"wave %d passed: %d of %d targets succeeded (%d%%), the success threshold is %d%%":                 "第%[1]d批已通过：%[3]d个目标中%[2]d个成功（%[4]d%%），成功阈值为%[5]d%%",
	"wave %d: %d of %d targets failed (%d%%), above the failure threshold of %d%%":                     "第%[1]d批：%[3]d个目标中%[2]d个失败（%[4]d%%），超过失败阈值%[5]d%%",
	"wave %d can no longer reach the success threshold of %d%%: %d of %d targets succeeded, %d failed": "第%[1]d批已无法达到成功阈值%[2]d%%：%[4]d个目标中%[3]d个成功，%[5]d个失败",
	"no final report within the wave timeout (%s): counted as failed":                                  "批次超时（%s）内未收到最终报告：计为失败",
	"aborted: %s":                    "已中止：%s",
	"succeeded: all %d waves passed": "成功：全部%d批均已通过",
	"rolled back 1 target to their previous version, each with a new deployment":   "已将1个目标回滚到之前的版本，并为其创建了新的部署",
	"rolled back %d targets to their previous version, each with a new deployment": "已将%d个目标回滚到各自之前的版本，并各自创建了新的部署",
}

func init() { join(serviceMessages, rolloutServiceMessages) }
