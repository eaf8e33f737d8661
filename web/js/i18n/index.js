// Every string a person reads comes from zh.js or en.js through t(), or from the data (titles,
// vocabularies) through local(). Numbers, units and areas are written by core/format.js.
import zh from './zh.js';
import en from './en.js';

export const catalogs = { zh, en };
let current = 'en';
const listeners = new Set();

/** The browser's language decides the default: Chinese for zh-*, English otherwise. */
export function browserLanguage() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  return String(langs[0]).toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  const next = lang === 'zh' ? 'zh' : 'en';
  const changed = next !== current;
  current = next;
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  if (changed) listeners.forEach((fn) => fn(current));
}

export function onLanguageChange(fn) {
  listeners.add(fn);
}

/** The text for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  return translator(current)(key, vars);
}

/** `t` for one language, whatever the page's is (files and the bilingual dossier need both). */
export function translator(lang) {
  const own = catalogs[lang] || catalogs.en;
  return (key, vars = {}) => (own[key] ?? catalogs.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/**
 * Text from the data in the current language: a `{zh, en}` object, or one string for both.
 * `fallback` when there is none.
 */
export function local(text, fallback = '') {
  if (text === null || text === undefined) return fallback;
  if (typeof text === 'string') return text;
  return text[current] || text.en || text.zh || fallback;
}

/** Fills every element with data-i18n (text) or data-i18n-placeholder / -label (attributes). */
export function translatePage(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-label]').forEach((el) => { el.setAttribute('aria-label', t(el.dataset.i18nLabel)); });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

/** MapLibre's own control texts (its `locale` option), in the current language. */
export function maplibreLocale() {
  if (current !== 'zh') return {};
  return {
    'AttributionControl.ToggleAttribution': '显示或隐藏署名',
    'AttributionControl.MapFeedback': '地图反馈',
    'FullscreenControl.Enter': '全屏',
    'FullscreenControl.Exit': '退出全屏',
    'GeolocateControl.FindMyLocation': '定位我的位置',
    'GeolocateControl.LocationNotAvailable': '无法获取位置',
    'LogoControl.Title': 'MapLibre 标志',
    'Map.Title': '地图',
    'Marker.Title': '地图标记',
    'NavigationControl.ResetBearing': '重置方向为正北',
    'NavigationControl.ZoomIn': '放大',
    'NavigationControl.ZoomOut': '缩小',
    'Popup.Close': '关闭弹出框',
    'ScaleControl.Feet': '英尺',
    'ScaleControl.Meters': '米',
    'ScaleControl.Kilometers': '公里',
    'ScaleControl.Miles': '英里',
    'ScaleControl.NauticalMiles': '海里',
    'GlobeControl.Enable': '启用地球视图',
    'GlobeControl.Disable': '停用地球视图',
    'TerrainControl.Enable': '启用地形',
    'TerrainControl.Disable': '停用地形',
    'CooperativeGesturesHandler.WindowsHelpText': '按住 Ctrl 键并滚动以缩放地图',
    'CooperativeGesturesHandler.MacHelpText': '按住 ⌘ 键并滚动以缩放地图',
    'CooperativeGesturesHandler.MobileHelpText': '用两根手指移动地图',
  };
}
