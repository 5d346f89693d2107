// The native shell: each page opens the platform's mobile pages (served by the gateway at /m/) in a <web-view>.
// The business domain (the gateway's HTTPS host) must be registered in the mini-program's console.
App({
  globalData: {
    base: 'https://nrmm.example.cn/m/'
  }
})
