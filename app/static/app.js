/*
 * bwv-review global front-end bootstrap (ES module, loaded on every page by
 * layout.html). Nothing page-specific lives here.
 *
 * - marks <body> with `js-enabled govuk-frontend-supported` (GOV.UK Frontend's
 *   template does this with an inline script, which our CSP forbids)
 * - initialises GOV.UK Frontend and MoJ Frontend components, on load and on
 *   content swapped in by htmx
 * - sends the CSRF token (from <meta name="csrf-token">) as the X-CSRF-Token
 *   header on every htmx request
 */
import * as govuk from './vendor/govuk/govuk-frontend.min.js'
import * as moj from './vendor/moj/moj-frontend.min.js'

const body = document.body
body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  body.classList.add('govuk-frontend-supported')
}

/** Current CSRF token (read each time so a refreshed meta tag is honoured). */
export function csrfToken () {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') || '' : ''
}

// Errors such as "component already initialised" are expected when htmx
// re-initialises a region; anything else is logged.
function onError (error) {
  if (error && /already (been )?initialised/i.test(String(error.message))) return
  console.error(error)
}

/** Initialise GOV.UK and MoJ components inside `scope` (default: document). */
export function initComponents (scope = document) {
  try {
    govuk.initAll({ scope, onError })
  } catch (e) { onError(e) }
  try {
    moj.initAll({ scope, onError })
  } catch (e) { onError(e) }
}

// MoJ filter layout (macro filter_layout): "Show/Hide filter" toggle button.
// FilterToggleButton is not part of MoJ initAll(), so wire it here.
export function initFilterLayouts (scope = document) {
  if (!moj.FilterToggleButton) return
  const layouts = []
  if (scope instanceof Element && scope.matches('[data-bwv-filter-layout]')) layouts.push(scope)
  layouts.push(...scope.querySelectorAll('[data-bwv-filter-layout]'))
  for (const layout of layouts) {
    if (layout.dataset.bwvFilterInit) continue
    const id = layout.getAttribute('data-bwv-filter-layout')
    const filter = layout.querySelector('.moj-filter')
    if (!filter || !document.getElementById(`${id}-toggle`)) continue
    try {
      // eslint-disable-next-line no-new
      new moj.FilterToggleButton(filter, {
        startHidden: false,
        toggleButtonContainer: { selector: `#${CSS.escape(id)}-toggle` },
        closeButtonContainer: { selector: '.moj-filter__header-action' }
      })
      layout.dataset.bwvFilterInit = 'true'
    } catch (e) { onError(e) }
  }
}

initComponents(document)
initFilterLayouts(document)

// htmx: CSRF header on every request.
document.addEventListener('htmx:configRequest', (event) => {
  const token = csrfToken()
  if (token) event.detail.headers['X-CSRF-Token'] = token
})

// htmx: initialise components in newly swapped-in content. The scope is the
// parent so that an element which itself carries data-module is included.
document.addEventListener('htmx:load', (event) => {
  const elt = event.detail && event.detail.elt
  if (!elt || elt === document.body || elt === document.documentElement) return
  initComponents(elt.parentElement || elt)
  initFilterLayouts(elt)
})

window.bwv = Object.assign(window.bwv || {}, { csrfToken, initComponents, initFilterLayouts })

// Generic positioning for bwv-timeline parts (and anything else using the same
// attributes): data-bwv-start / data-bwv-end / data-bwv-at (percentages) become
// the CSS custom properties --bwv-start / --bwv-end / --bwv-at. Done through
// CSSOM, which the style-src 'self' CSP allows (inline style="" is not).
export function applyPositions (scope = document) {
  const nodes = []
  if (scope instanceof Element && scope.matches('[data-bwv-start],[data-bwv-end],[data-bwv-at]')) nodes.push(scope)
  nodes.push(...scope.querySelectorAll('[data-bwv-start],[data-bwv-end],[data-bwv-at]'))
  for (const el of nodes) {
    for (const key of ['start', 'end', 'at']) {
      const raw = el.getAttribute(`data-bwv-${key}`)
      if (raw === null || raw === '') continue
      const n = Math.min(100, Math.max(0, Number(raw)))
      if (Number.isFinite(n)) el.style.setProperty(`--bwv-${key}`, String(n))
    }
  }
}

applyPositions(document)
document.addEventListener('htmx:load', (event) => {
  const elt = event.detail && event.detail.elt
  if (elt && elt !== document.body) applyPositions(elt)
})
window.bwv.applyPositions = applyPositions

// A clip the browser cannot play (a format browsers do not decode, such as MPEG-4 Part 2 from some cameras,
// or a viewing link that has expired on a page left open) leaves a black player that does nothing. Say so,
// once, beside the player. Media errors do not bubble: listen in the capture phase; and a player that failed
// before this module ran is found as it starts.
function warnUnplayable (video) {
  if (!(video instanceof HTMLVideoElement) || !video.error || video.dataset.bwvPlaybackError) return
  video.dataset.bwvPlaybackError = String(video.error.code)
  const box = document.createElement('div')
  box.className = 'govuk-warning-text bwv-unplayable'
  box.setAttribute('role', 'alert')
  box.setAttribute('data-bwv-unplayable', '')
  const icon = document.createElement('span')
  icon.className = 'govuk-warning-text__icon'
  icon.setAttribute('aria-hidden', 'true')
  icon.textContent = '!'
  const text = document.createElement('strong')
  text.className = 'govuk-warning-text__text'
  const hidden = document.createElement('span')
  hidden.className = 'govuk-visually-hidden'
  hidden.textContent = 'Warning'
  text.append(hidden, "This clip can't be played in the browser. Its video format may not be one browsers " +
    'play, or the page has been open too long: reload the page to try again. ')
  const page = video.dataset.bwvFootagePage // where a coordinator or governor can download it (with a reason)
  if (page) {
    const link = document.createElement('a')
    link.className = 'govuk-link'
    link.href = page + '#download'
    link.textContent = 'download it from its footage page'
    text.append('To watch it in a video player, ', link, '.')
  } else {
    text.append('If it still does not play, tell your use-of-force coordinator.')
  }
  box.append(icon, text)
  const player = video.closest('.bwv-player') || video
  player.insertAdjacentElement('afterend', box)
}
document.addEventListener('error', (event) => warnUnplayable(event.target), true)
document.querySelectorAll('video').forEach(warnUnplayable)
