/*
 * The review screen: player controls, timeline and filmstrip seeking, keyboard shortcuts, guidance
 * templates, override-reason toggle and side-by-side playback of another officer's camera.
 * No inline scripts or styles (CSP): positions use --bwv-at set through CSSOM; everything else is
 * driven by data-* attributes rendered by templates/review/screen.html.
 *
 * Keys (ignored while typing in a text box, except Ctrl+Enter and Esc):
 *   k / Space play-pause · , . one frame · ← → 5 s · f force began · 1 2 3 green amber red
 *   g guidance · s or Ctrl+Enter save and next · ? shortcuts
 * The timeline's slider (Tab to it) also takes Home, End, Page Up and Page Down.
 */
const root = document.querySelector('[data-bwv-review]')

function fmt (t) {
  if (!Number.isFinite(t)) t = 0
  const m = Math.floor(t / 60)
  const s = t - m * 60
  return `${m}:${s.toFixed(1).padStart(4, '0')}`
}

if (root) {
  const video = root.querySelector('[data-bwv-video]')
  const length = Number(root.dataset.length) || 0
  const fps = Number(root.dataset.fps) || 25
  const forceStart = root.dataset.forceStart === '' ? null : Number(root.dataset.forceStart)
  const suggested = root.dataset.suggested || ''
  const playhead = root.querySelector('[data-bwv-playhead]')
  const timeEl = root.querySelector('[data-bwv-time]')
  const clockEl = root.querySelector('[data-bwv-clock]')
  const clockStart = clockEl ? new Date(clockEl.dataset.start) : null
  const playBtn = root.querySelector('[data-bwv-action="play"]')
  const form = document.querySelector('[data-bwv-rating-form]')
  const guidance = document.querySelector('[data-bwv-guidance]')
  const override = document.querySelector('[data-bwv-override]')
  const keys = document.querySelector('[data-bwv-keys]')
  const frames = [...root.querySelectorAll('[data-bwv-keyframe]')]
  const seekSlider = root.querySelector('[data-bwv-seek]')

  const duration = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : length)

  function seek (t) {
    const d = duration()
    video.currentTime = Math.max(0, Math.min(d > 0 ? d - 0.001 : t, t))
    update()
  }

  function update () {
    const t = video.currentTime || 0
    const d = length || duration()
    if (playhead && d > 0) playhead.style.setProperty('--bwv-at', String(Math.min(100, (t / d) * 100)))
    if (timeEl) timeEl.textContent = fmt(t)
    if (seekSlider) {
      seekSlider.value = String(t)
      seekSlider.setAttribute('aria-valuetext', `${fmt(t)} of ${fmt(d)}`)
    }
    if (clockEl && clockStart && !Number.isNaN(clockStart.getTime())) {
      const at = new Date(clockStart.getTime() + t * 1000)
      const clockZone = clockEl.dataset.timezone || 'Europe/London' // the server's BWV_TIMEZONE
      // The night the clocks go back, 01:00-01:59 is shown twice: then with its zone (BST, then GMT).
      const wall = (d) => d.toLocaleString('en-GB', { timeZone: clockZone, hour12: false })
      const twice = [3600000, -3600000].some((dt) => wall(new Date(at.getTime() + dt)) === wall(at))
      const zone = twice ? { timeZoneName: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' } : {}
      clockEl.textContent = at.toLocaleTimeString('en-GB', { timeZone: clockZone, hour12: false, ...zone })
    }
    let current = null
    for (const f of frames) if (Number(f.dataset.seek) <= t + 0.05) current = f
    for (const f of frames) f.classList.toggle('bwv-filmstrip__frame--current', f === current)
    if (playBtn) playBtn.firstChild.textContent = video.paused ? 'Play ' : 'Pause '
  }

  function toggle () {
    if (video.paused) {
      const p = video.play()
      if (p && p.catch) p.catch(() => {})
    } else {
      video.pause()
    }
  }

  function step (n) {
    video.pause()
    seek((video.currentTime || 0) + n / fps)
  }

  for (const ev of ['timeupdate', 'seeked', 'play', 'pause', 'loadedmetadata']) video.addEventListener(ev, update)

  root.addEventListener('click', (event) => {
    const target = event.target.closest('[data-seek]')
    if (target) {
      event.preventDefault()
      seek(Number(target.dataset.seek))
      return
    }
    const action = event.target.closest('[data-bwv-action]')
    if (action) {
      const a = action.dataset.bwvAction
      if (a === 'play') toggle()
      else if (a === 'back') step(-1)
      else if (a === 'forward') step(1)
      else if (a === 'force' && forceStart !== null) seek(Math.max(0, forceStart))
    }
  })

  if (seekSlider) seekSlider.addEventListener('input', () => seek(Number(seekSlider.value)))

  const track = root.querySelector('[data-bwv-track]')
  if (track) {
    track.addEventListener('click', (event) => {
      if (event.target.closest('[data-seek]')) return
      const box = track.getBoundingClientRect()
      const share = (event.clientX - box.left) / box.width
      seek(share * (length || duration()))
    })
  }

  // Rating choice: amber/red go on to the guidance box; the override reason shows when it differs.
  const radios = [...document.querySelectorAll('input[name="rag"]')]
  function chosen () {
    const r = radios.find((x) => x.checked)
    return r ? r.value : ''
  }
  function syncOverride () {
    if (!override || !override.hasAttribute('data-bwv-toggle')) return
    const rag = chosen()
    override.hidden = !(suggested && rag && rag !== suggested)
  }
  for (const r of radios) r.addEventListener('change', syncOverride)
  syncOverride()
  // Amber or red chosen with the mouse: bring the guidance box into view (focus stays on the choice). On a
  // laptop screen it sat out of sight under the Save bar, and nothing said there was more to fill in.
  for (const r of radios) {
    r.addEventListener('click', () => {
      if (r.value !== 'green' && guidance) bringIntoView(guidance)
    })
  }

  // Focus a field of the rating panel and bring it into view clear of the sticky Save bar (the panel's
  // scroll-padding-bottom), with the reason for differing from the suggestion when it has just appeared
  // below: on a laptop screen both were out of sight.
  function reveal (el) {
    el.focus({ preventScroll: true })
    bringIntoView(el)
  }
  function bringIntoView (el) {
    if (override && !override.hidden) override.scrollIntoView({ block: 'nearest' })
    el.scrollIntoView({ block: 'nearest' })
  }

  // The rating panel ends at the window's foot wherever the page is scrolled, so its sticky Save bar is always
  // in sight: on a laptop screen, with the page at its top, the panel (as tall as the window) went on below
  // the fold and the bar with it. Wide screens only, where the panel sits beside the player.
  const sidePanel = document.querySelector('.bwv-review__side')
  const wide = window.matchMedia('(min-width: 64em)')
  function fitPanel () {
    if (!sidePanel) return
    if (!wide.matches) { sidePanel.style.maxHeight = ''; return }
    const top = Math.max(10, sidePanel.getBoundingClientRect().top)
    sidePanel.style.maxHeight = `${Math.max(120, window.innerHeight - top - 10)}px`
  }
  window.addEventListener('scroll', fitPanel, { passive: true })
  window.addEventListener('resize', fitPanel)
  fitPanel()

  function choose (key) {
    const r = radios.find((x) => x.dataset.key === key)
    if (!r) return
    r.checked = true
    r.dispatchEvent(new Event('change', { bubbles: true }))
    syncOverride()
    reveal(r.value !== 'green' && guidance ? guidance : r)
  }

  // Guidance templates.
  const picker = document.querySelector('[data-bwv-template]')
  const insert = document.querySelector('[data-bwv-insert]')
  function insertTemplate () {
    if (!picker || !guidance) return
    const opt = picker.selectedOptions[0]
    if (!opt || !opt.dataset.text) return
    const text = opt.dataset.text
    guidance.value = guidance.value.trim() ? `${guidance.value.trim()}\n\n${text}` : text
    // A template written for a rating chooses it when none is chosen yet (never changes a choice made).
    const forRag = radios.find((x) => x.value === opt.dataset.rag)
    if (forRag && !chosen()) {
      forRag.checked = true
      forRag.dispatchEvent(new Event('change', { bubbles: true }))
      syncOverride()
    }
    guidance.dispatchEvent(new Event('input', { bubbles: true })) // the character count
    reveal(guidance)
    guidance.setSelectionRange(guidance.value.length, guidance.value.length)
    picker.value = ''
  }
  if (insert) insert.addEventListener('click', insertTemplate)

  function save () {
    if (!form) return
    if (form.requestSubmit) form.requestSubmit()
    else form.submit()
  }

  // Side by side: a second camera at the same clock time (offset = its first frame - this clip's).
  const panel = root.querySelector('[data-bwv-side-panel]')
  const side = root.querySelector('[data-bwv-side-video]')
  const sideOverlay = root.querySelector('[data-bwv-side-overlay]')
  const sideLabel = root.querySelector('[data-bwv-side-label]')
  let offset = 0
  let opener = null // the "Play side by side" button that opened the panel: focus goes back to it on Close
  function syncSide (force) {
    if (!side || !panel || panel.hidden || !side.src) return
    const want = (video.currentTime || 0) - offset
    const d = Number.isFinite(side.duration) ? side.duration : Infinity
    const outside = want < 0 || want > d
    if (sideOverlay) sideOverlay.hidden = !outside
    if (outside) {
      if (!side.paused) side.pause()
      return
    }
    if (force || Math.abs(side.currentTime - want) > 0.25) side.currentTime = want
    if (!video.paused && side.paused) {
      const p = side.play()
      if (p && p.catch) p.catch(() => {})
    } else if (video.paused && !side.paused) {
      side.pause()
    }
  }
  root.addEventListener('click', (event) => {
    const btn = event.target.closest('[data-bwv-side]')
    if (btn && panel && side) {
      opener = btn
      offset = Number(btn.dataset.offset) || 0
      if (sideLabel) sideLabel.textContent = btn.dataset.label || ''
      side.src = btn.dataset.bwvSide
      panel.hidden = false
      side.addEventListener('loadedmetadata', () => syncSide(true), { once: true })
      panel.scrollIntoView({ block: 'nearest' })
    }
    if (event.target.closest('[data-bwv-side-close]') && panel && side) {
      side.pause()
      side.removeAttribute('src')
      side.load()
      panel.hidden = true
      if (opener && opener.isConnected) opener.focus()
    }
  })
  for (const ev of ['play', 'pause', 'seeked', 'timeupdate']) video.addEventListener(ev, () => syncSide(ev === 'seeked'))

  const KEYS_OFF = 'bwv-single-keys-off'
  const keysBox = document.querySelector('[data-bwv-single-keys]')
  function singleKeys () {
    try { return localStorage.getItem(KEYS_OFF) !== '1' } catch (e) { return true }
  }
  if (keysBox) {
    keysBox.checked = singleKeys()
    keysBox.addEventListener('change', () => {
      try {
        if (keysBox.checked) localStorage.removeItem(KEYS_OFF)
        else localStorage.setItem(KEYS_OFF, '1')
      } catch (e) {}
    })
  }

  document.addEventListener('keydown', (event) => {
    const el = event.target
    const typing = el && (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' ||
      (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit', 'range'].includes(el.type)))
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
      event.preventDefault()
      save()
      return
    }
    if (typing) {
      if (event.key === 'Escape') el.blur()
      return
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return
    // The timeline slider, as a slider should: arrows one second, Page Up and Page Down ten (the browser's
    // own steps differed up and down), Home and End as the browser does them.
    if (el === seekSlider) {
      const by = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10 }[event.key]
      if (by) {
        event.preventDefault()
        seek((video.currentTime || 0) + by)
        return
      }
    }
    // Single-key shortcuts can be turned off (WCAG 2.1.4): a stray key typed outside a text box then does
    // nothing. Ctrl+Enter and the arrow keys still work.
    if (!singleKeys() && event.key.length === 1) return
    switch (event.key) {
      case 'k':
      case ' ':
        // Space keeps its own meaning on what it works: a button, a link, a radio or a checkbox of the form.
        if (event.key === ' ' && el && ['BUTTON', 'A', 'SUMMARY', 'INPUT'].includes(el.tagName)) return
        event.preventDefault()
        toggle()
        break
      case ',':
        event.preventDefault()
        step(-1)
        break
      case '.':
        event.preventDefault()
        step(1)
        break
      case 'ArrowLeft':
        if (el && el.type === 'radio') return
        event.preventDefault()
        seek((video.currentTime || 0) - 5)
        break
      case 'ArrowRight':
        if (el && el.type === 'radio') return
        event.preventDefault()
        seek((video.currentTime || 0) + 5)
        break
      case 'f':
        if (forceStart !== null) {
          event.preventDefault()
          seek(Math.max(0, forceStart))
        }
        break
      case '1':
      case '2':
      case '3':
        event.preventDefault()
        choose(event.key)
        break
      case 'g':
        if (guidance) {
          event.preventDefault()
          guidance.focus()
        }
        break
      case '?':
        if (keys) {
          event.preventDefault()
          keys.open = !keys.open
          // The list sits at the foot of the rating panel, below the fold on a laptop: bring it into view.
          if (keys.open) keys.scrollIntoView({ block: 'nearest' })
        }
        break
      default:
    }
  })

  // After "Save and next" the confirmation takes focus, so a screen reader says what was saved and the next
  // Tab starts from the top of this clip (focus was left on the page itself). The shortcuts still work.
  const savedNote = document.querySelector('.bwv-saved')
  if (savedNote) {
    savedNote.setAttribute('tabindex', '-1')
    savedNote.focus({ preventScroll: true })
  }

  update()
  window.bwvReview = { seek, toggle, video }
}
