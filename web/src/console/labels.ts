// Words the console shows for the platform's codes, beside the mini-program's (../labels.ts).
export { CATEGORIES, DISTRICTS, REFUSALS, SITE_CATEGORIES, STAGES, STATUSES, UPLOADS } from '../labels'
import { DISTRICTS } from '../labels'

export const ROLES: Record<string, string> = {
  reviewer: '审核人员', inspector: '执法检查人员', department_viewer: '部门查看人员', supervision_engineer: '监理工程师',
  auditor: '审计人员', admin: '管理员', owner: '机主', site_admin: '场地管理员',
}
export const DEPARTMENTS: Record<string, string> = {
  ecology: '生态环境', economy: '经济信息', planning: '规划自然资源', housing: '住房城乡建设', urban: '城市管理',
  transport: '交通', water: '水利', state_assets: '国资', market: '市场监管',
}
export const EVENTS: Record<string, string> = {
  CodeRequested: '提交申请', ApplicationAmended: '修改后重新提交', CodeRejected: '审核未通过', CodeIssued: '发放编码',
  OwnerChangeRequested: '申报所有权转移', OwnerChangeCancelled: '撤回所有权转移', OwnerChanged: '所有权转移完成',
  CodeCancelled: '编码注销', PlateReissueRequested: '申请补发号牌', PlateReissued: '号牌已补发',
  MachineInfoCorrected: '信息更正', ExternalMachineDeclared: '外省机械申报', ExternalMachineConfirmed: '外省机械确认',
}
export const SITE_STATUSES: Record<string, string> = { in_construction: '施工中', suspended: '停工', completed: '已完工' }
export const ZONE_KINDS: Record<string, string> = { district: '整个区县', streets: '按街道/镇', polygons: '按范围（多边形）' }
export const VIOLATION_KINDS: Record<string, string> = {
  uncoded: '未取得环保编码', plate_missing: '未悬挂号牌', card_missing: '未随车携带信息卡',
  registration_mismatch: '登记信息不符', entry_not_registered: '未登记进场', smoke_exceedance: '烟度超标',
  high_emission_in_zone: '高排放机械进入禁用区',
}
export const VIOLATION_STATUSES: Record<string, string> = {
  open: '待整改', rectification_submitted: '整改待复核', closed: '已关闭', withdrawn: '已撤销',
}
export const districtName = (code: string | null | undefined): string =>
  code ? `${DISTRICTS[code] ?? code}` : '市级'
export const districtList = Object.entries(DISTRICTS).map(([value, name]) => ({ value, label: `${value} ${name}` }))
export const word = (map: Record<string, string>, key: string | null | undefined): string =>
  key == null ? '' : map[key] ?? key
export const when = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : ''
