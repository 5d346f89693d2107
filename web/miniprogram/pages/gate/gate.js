// opens /m/gate in a web-view; the page's own query (e.g. ?next=) is passed on
const app = getApp()

Page({
  data: { url: '' },
  onLoad(query) {
    const search = Object.keys(query || {}).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(query[k])).join('&')
    this.setData({ url: app.globalData.base + 'gate' + (search ? '?' + search : '') })
  }
})
