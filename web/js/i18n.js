// Every string a person reads, in Chinese and English.
const strings = {
  zh: {
    title: '北京亦庄产业空间地图',
    loading: '正在加载图层…',
    loaded: (n) => `已加载 ${n} 个图层`,
    failed: (m) => `加载失败：${m}`,
    switchTo: 'English',
    schematic: '示意数据，非测绘成果',
  },
  en: {
    title: 'Beijing E-Town industrial space',
    loading: 'Loading layers…',
    loaded: (n) => `${n} layers loaded`,
    failed: (m) => `Could not load: ${m}`,
    switchTo: '中文',
    schematic: 'Schematic data, not surveyed',
  },
};

export function defaultLanguage() {
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function t(lang, key, ...args) {
  const s = strings[lang][key];
  return typeof s === 'function' ? s(...args) : s;
}
