// The panel's tabs: on a wide screen they switch panels; on a phone they also open and close the
// sheet. Arrow keys move between them.
export function tabs(store, sections) {
  const buttons = [...document.querySelectorAll('[role=tab]')];
  function show() {
    for (const [name, s] of Object.entries(sections)) s.element.hidden = name !== store.state.tab;
    buttons.forEach((b) => {
      const on = b.dataset.tab === store.state.tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
  }
  buttons.forEach((b) => b.addEventListener('click', () => {
    const same = b.dataset.tab === store.state.tab;
    const open = document.body.classList.contains('panel-open');
    document.body.classList.toggle('panel-open', !(same && open));
    store.update({ tab: b.dataset.tab });
  }));
  document.getElementById('tabs').addEventListener('keydown', (e) => {
    const i = buttons.findIndex((b) => b.dataset.tab === store.state.tab);
    const next = e.key === 'ArrowRight' ? buttons[(i + 1) % buttons.length] : e.key === 'ArrowLeft' ? buttons[(i + buttons.length - 1) % buttons.length] : null;
    if (next) { store.update({ tab: next.dataset.tab }); next.focus(); }
  });
  document.getElementById('panel-close').addEventListener('click', () => document.body.classList.remove('panel-open'));
  store.on(['tab'], () => show());
  return show;
}
