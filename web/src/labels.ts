// Words the pages show for the platform's codes (rule S1 categories, rule C5 stages and districts, rule C4 uploads).
export type Option = { text: string; value: string }
const options = (map: Record<string, string>): Option[] => Object.entries(map).map(([value, text]) => ({ text, value }))

export const CATEGORIES: Record<string, string> = {
  excavator: '挖掘机', crane: '起重机', bulldozer: '推土机', loader: '装载机', road_roller: '压路机', paver: '摊铺机',
  grader: '平地机', piling: '桩工机械', forklift: '叉车', stacker: '堆高机', tractor: '牵引车', shuttle: '摆渡车',
  in_plant: '场内车辆', other: '其他',
}
export const STAGES: Record<string, string> = { '1': '国一及以下', '2': '国二', '3': '国三', '4': '国四', D: '电动', X: '无法确定' }
export const FUELS: Record<string, string> = { diesel: '柴油', gasoline: '汽油', gas: '燃气', electric: '电动', hybrid: '混合动力' }
export const ACQUISITIONS: Record<string, string> = { purchase: '购买', transfer_in: '转入' }
export const REGISTRANT_KINDS: Record<string, string> = { person: '个人', company: '单位' }
export const DISTRICTS: Record<string, string> = {
  '01': '万州区', '02': '黔江区', '03': '涪陵区', '04': '渝中区', '05': '大渡口区', '06': '江北区', '07': '沙坪坝区',
  '08': '九龙坡区', '09': '南岸区', '10': '北碚区', '11': '渝北区', '12': '巴南区', '13': '长寿区', '14': '江津区',
  '15': '合川区', '16': '永川区', '17': '南川区', '18': '綦江区', '19': '大足区', '20': '铜梁区', '21': '璧山区',
  '22': '潼南区', '23': '荣昌区', '24': '开州区', '25': '梁平区', '26': '武隆区', '27': '城口县', '28': '丰都县',
  '29': '忠县', '30': '垫江县', '31': '云阳县', '32': '奉节县', '33': '巫山县', '34': '巫溪县', '35': '石柱县',
  '36': '秀山县', '37': '酉阳县', '38': '彭水县', '39': '两江新区', '40': '万盛经开区', '41': '高新区',
}
export const UPLOADS: Record<string, string> = {
  identity_proof: '所有者身份证明', machine_nameplate: '机械铭牌', engine_nameplate: '发动机铭牌',
  environmental_label: '环保信息标签', conformity_certificate: '合格证', photo_front: '机械正面照片',
  photo_back: '机械背面照片', photo_left: '机械左侧照片', photo_right: '机械右侧照片',
}
export const STATUSES: Record<string, string> = {
  submitted: '审核中', rejected: '未通过，可修改后重新提交', issued: '已发放编码', correction_review: '信息更正审核中',
  cancelled: '已注销',
}
export const SITE_CATEGORIES: Record<string, string> = {
  building: '房屋建筑', municipal_works: '市政工程', transport_works: '交通工程', port_airport_dock: '港口/机场/码头',
  water_works: '水利工程', ecological_restoration: '生态修复/土地整治', municipal_maintenance: '市政设施养护',
  industrial_enterprise: '工业企业',
}
// the gate's refusals, for a guard (rules E3, E4)
export const REFUSALS: Record<string, string> = {
  unknown_code: '编码未登记：该机械没有有效的环保编码', code_cancelled: '编码已注销：该机械已报废或注销',
  code_superseded: '编码已更换：请使用机械的新编码', high_emission_in_zone: '高排放机械：禁止进入本禁用区场地',
  already_inside: '该机械已在本场地内', on_another_site: '该机械仍在其他场地，须先登记出场',
  site_not_active: '本场地未在施工状态，不能登记进场', stage_not_declared: '排放阶段未确认，请先核对机械信息',
  malformed_code: '无法识别的编码或二维码',
}
export const COLOURS: Record<string, string> = {
  green: '绿色 · 新能源', blue: '蓝色 · 国三及以上', yellow: '黄色 · 国二及以下或未知', red: '红色 · 禁止进场',
}

export const categoryOptions = options(CATEGORIES)
export const stageOptions = options(STAGES)
export const fuelOptions = options(FUELS)
export const districtOptions = Object.entries(DISTRICTS).map(([value, text]) => ({ text: `${value} ${text}`, value }))
export const siteCategoryOptions = options(SITE_CATEGORIES)
// a popup's dimmed background closes it: named for screen readers (Vant passes it to the overlay element)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const OVERLAY: any = { 'aria-label': '关闭' }
