// API errors in words a user understands: never a stack trace or raw JSON.
export interface ErrorBody {
  code?: string; message?: string; field?: string | null
  errors?: { field: string; message: string; type: string }[]
  details?: Record<string, unknown>; [key: string]: unknown
}

export class ApiError extends Error {
  constructor(public status: number, public body: ErrorBody) {
    super(describe(status, body))
  }
  get code(): string { return this.body.code ?? '' }
}

const CJK = /[\u4e00-\u9fff]/
const FIELDS: Record<string, string> = {
  name: '姓名/名称', id_number: '证件号码', mobile: '手机号码', password: '密码', sms_code: '短信验证码',
  brand: '品牌', model: '型号', factory_serial: '出厂编号', manufactured_on: '出厂日期', acquired_on: '购入/转入日期',
  maker: '发动机生产厂', serial: '发动机编号', rated_power_kw: '额定功率', emission_stage: '排放阶段',
  district: '区县', category: '机械类型', site_code: '场地编号', credit_code: '统一社会信用代码',
  street: '街道/镇', detail: '详细地址', starts_on: '开始日期', ends_on: '结束日期', code: '环保编码', qr: '二维码',
  uploads: '证件与照片',
}
const CODES: Record<string, string> = {
  invalid_credentials: '账号或密码错误', account_locked: '登录失败次数过多，请稍后再试',
  upstream_unavailable: '服务暂时不可用，请稍后重试', upstream_timeout: '服务响应超时，请稍后重试',
  read_model_behind: '数据正在同步，请稍后刷新', request_too_large: '文件太大，请换一张较小的照片',
  no_session: '登录已过期，请重新登录', csrf_failed: '页面已过期，请刷新后重试',
}
const STATUS: Record<number, string> = {
  400: '填写的信息有误，请检查后重试', 401: '请先登录', 403: '没有权限执行此操作', 404: '未找到相关记录',
  409: '操作与当前状态冲突，请刷新后重试', 413: '文件太大', 422: '填写的信息有误，请检查后重试',
  429: '操作太频繁，请稍后再试',
}
const TYPES: Record<string, string> = {
  missing: '必须填写', string_too_short: '不能为空', string_too_long: '内容太长', date_from_datetime_parsing: '日期格式不正确',
  date_parsing: '日期格式不正确', enum: '请选择有效选项', literal_error: '请选择有效选项', greater_than: '须大于 0',
  float_parsing: '须为数字', less_than_equal: '数值太大', string_pattern_mismatch: '格式不正确',
}

/** A message without the English in brackets the services add for developers. */
export function chinese(message: string | undefined): string {
  if (!message || !CJK.test(message)) return ''
  return message.replace(/^请求数据无效:\s*/, '').replace(/^Value error,\s*/, '').replace(/\s*\([^()]*\)\s*$/, '').trim()
}

function fieldLabel(path: string): string {
  const last = path.split('.').filter((p) => !/^\d+$/.test(p)).pop() ?? ''
  return FIELDS[last] ?? ''
}

export function describe(status: number, body: ErrorBody): string {
  if (body.code && CODES[body.code]) return CODES[body.code]
  const first = body.errors?.[0]
  if (first) {
    const label = fieldLabel(first.field)
    const words = chinese(first.message) || TYPES[first.type] || '格式不正确'
    return label ? `${label}：${words}` : words
  }
  const words = chinese(body.message)
  if (words) return words
  if (status >= 500) return '服务暂时不可用，请稍后重试'
  return STATUS[status] ?? '操作未成功，请稍后重试'
}

export function explain(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof TypeError) return '网络连接失败，请检查网络后重试'
  return '操作未成功，请稍后重试'
}
