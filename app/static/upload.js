/*
 * Footage upload page: drag and drop several files, shared details plus per-file times, a progress bar
 * per file, resumable uploads with the tus 1.0 protocol (POST /api/v1/uploads, PATCH in chunks, HEAD to
 * find the offset after a dropped connection). Files go one after another (kinder to a poor link).
 *
 * The CSRF token is read from <meta name="csrf-token"> and sent as X-CSRF-Token.
 * An upload interrupted by closing the page resumes when the same file is chosen again (its upload URL
 * is remembered in localStorage by name, size and modification time).
 */

import * as moj from './vendor/moj/moj-frontend.min.js'

const form = document.querySelector('[data-bwv-upload]')
const CHUNK = 8 * 1024 * 1024
const RETRIES = [1000, 2000, 4000, 8000, 15000, 30000]
// The zone the server reads times in (BWV_TIMEZONE), so that page and server never disagree.
const TZ = (form && form.dataset.timezone) || 'Europe/London'

function csrfToken () {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') || '' : ''
}

function fileSize (n) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB']
  let size = n
  for (const unit of units) {
    if (size < 1024 || unit === 'TB') return unit === 'bytes' ? `${size} bytes` : `${size.toFixed(1)} ${unit}`
    size /= 1024
  }
  return `${n} bytes`
}

function b64 (text) {
  const bytes = new TextEncoder().encode(text)
  let bin = ''
  bytes.forEach((b) => { bin += String.fromCharCode(b) })
  return btoa(bin)
}

const CLOCK = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short'
})

function clockAt (t) { return Object.fromEntries(CLOCK.formatToParts(new Date(t)).map((x) => [x.type, x.value])) }

function offsetAt (t) {
  const p = clockAt(t)
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t
}

/**
 * The instants a UK clock showed the wall time `w` ({y, mo, d, h, mi, s}), whatever the browser's own zone,
 * each with its zone's name: none for a time in the hour skipped when the clocks go forward, two (BST, then
 * GMT) for one in the hour they go back over, else one.
 */
function londonInstants (w) {
  const wall = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s)
  const offsets = new Set([offsetAt(wall - 43200000), offsetAt(wall + 43200000)]) // either side of any change
  const found = [...offsets].map((off) => wall - off).filter((t) => offsetAt(t) === wall - t).sort((a, b) => a - b)
  return found.map((t) => ({ iso: new Date(t).toISOString(), zone: clockAt(t).timeZoneName }))
}

/** A day as the date picker writes it, D/M/YYYY (never month first), or null if it is not a real day. */
function parseDay (text) {
  const m = (text || '').trim().match(/^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/) // 3/11/2026, 3-11-2026, 3.11.2026
  if (!m) return null
  const [d, mo, y] = [m[1], m[3], m[4]].map((x) => parseInt(x, 10))
  const check = new Date(Date.UTC(y, mo - 1, d))
  return check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d ? { y, mo, d } : null
}

/** A 24-hour clock time, HH:MM or HH:MM:SS (a dot for the colon is fine), or null. */
function parseClock (text) {
  const m = (text || '').trim().match(/^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?$/)
  if (!m) return null
  const [h, mi, s] = m.slice(1).map((x) => parseInt(x || '0', 10))
  return h < 24 && mi < 60 && s < 60 ? { h, mi, s } : null
}

const pad = (n) => String(n).padStart(2, '0')

const FIRST_FRAME = 'the first frame was recorded'
const RECORD_PRESSED = 'record was pressed'
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/** "01:30 on 26 October 2025" for a wall time. */
function wallText (w) {
  return `${pad(w.h)}:${pad(w.mi)} on ${w.d} ${MONTHS[w.mo - 1]} ${w.y}`
}

function fingerprint (file) {
  return `bwv-upload:${file.name}:${file.size}:${file.lastModified}`
}

function detail (xhr) {
  try {
    const body = JSON.parse(xhr.responseText)
    if (body && body.detail) return typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail)
  } catch (e) { /* not JSON */ }
  return xhr.status ? `The server answered ${xhr.status}.` : 'The connection was lost.'
}

function request (method, url, { headers = {}, body = null, onProgress = null } = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    xhr.setRequestHeader('Tus-Resumable', '1.0.0')
    xhr.setRequestHeader('X-CSRF-Token', csrfToken())
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded)
    xhr.onload = () => resolve(xhr)
    xhr.onerror = () => resolve(xhr)
    xhr.onabort = () => resolve(xhr)
    xhr.send(body)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

class Item {
  constructor (file, list, template) {
    this.file = file
    this.state = 'ready'
    this.cancelled = false
    this.el = template.content.firstElementChild.cloneNode(true)
    this.id = `f${Math.random().toString(36).slice(2, 9)}`
    this.el.id = this.id
    this.el.querySelector('[data-name]').textContent = file.name
    this.el.querySelector('[data-size]').textContent = fileSize(file.size)
    this.progress = this.el.querySelector('[data-progress]')
    this.status = this.el.querySelector('[data-status]')
    this.error = this.el.querySelector('[data-file-error]')
    this.error.id = `${this.id}-file-error`
    this.actions = this.el.querySelector('[data-actions]')
    this.purgedActions = this.el.querySelector('[data-purged]')
    for (const label of this.el.querySelectorAll('[data-for]')) {
      const field = this.el.querySelector(`[data-field="${label.dataset.for}"]`)
      field.id = `${this.id}-${label.dataset.for}`
      label.setAttribute('for', field.id)
      const hint = label.parentElement.querySelector('[data-hint]')
      if (hint) {
        hint.id = `${field.id}-hint`
        field.setAttribute('aria-describedby', hint.id)
      }
    }
    for (const box of this.el.querySelectorAll('[data-fold]')) {
      const name = box.dataset.fold
      box.querySelectorAll('input[type=radio]').forEach((radio, i) => {
        radio.name = `${this.id}-${name}-fold`
        radio.id = `${this.id}-${name}-fold-${i}`
        radio.nextElementSibling.setAttribute('for', radio.id)
      })
      for (const part of ['date', 'time']) {
        this.field(`${name}_${part}`).addEventListener('input', () => this.updateFold(name))
        this.field(`${name}_${part}`).addEventListener('change', () => this.updateFold(name))
      }
      const group = this.el.querySelector(`[data-group="${name}"]`)
      const hint = group.querySelector('[data-hint]')
      const error = group.querySelector('[data-error]')
      hint.id = `${this.id}-${name}-hint`
      error.id = `${this.id}-${name}-error`
      group.querySelector('fieldset').setAttribute('aria-describedby', hint.id)
    }
    for (const select of this.el.querySelectorAll('[data-copy-options]')) {
      const source = document.querySelector(select.dataset.copyOptions)
      const same = document.createElement('option')
      same.value = ''
      same.textContent = 'Same as for every file'
      select.append(same)
      for (const opt of source.options) {
        if (opt.value) select.append(opt.cloneNode(true))
      }
    }
    this.el.querySelector('[data-remove]').addEventListener('click', () => this.remove())
    this.el.querySelector('[data-retry]').addEventListener('click', () => this.owner.start([this]))
    this.el.querySelector('[data-cancel]').addEventListener('click', () => this.cancel())
    this.el.querySelector('[data-store-again]').addEventListener('click', () => {
      this.restorePurged = true
      this.deletedBefore = false
      this.purgedActions.hidden = true
      this.focusWhenDone = true // the button goes: focus moves to what the upload ends with
      this.owner.start([this])
    })
    list.append(this.el)
    moj.initAll({ scope: this.el }) // the date pickers of this file's times
  }

  field (name) { return this.el.querySelector(`[data-field="${name}"]`) }

  /** The wall time typed in a time's day and clock fields: {w} (null when both are empty) or {problem}. */
  wall (name, what) {
    const dayText = this.field(`${name}_date`).value.trim()
    const clockText = this.field(`${name}_time`).value.trim()
    if (!dayText && !clockText) return { w: null }
    const day = parseDay(dayText)
    if (!day) return { problem: `Enter the day ${what}, for example 3/11/2026` }
    const clock = parseClock(clockText)
    if (!clock) return { problem: `Enter the time ${what} on the 24-hour clock, for example 14:02:05` }
    return { w: { ...day, ...clock } }
  }

  /** Shows the choice of the two times the night the clocks go back, when the time typed is in that hour. */
  updateFold (name) {
    const box = this.el.querySelector(`[data-fold="${name}"]`)
    const { w } = this.wall(name, '')
    const twice = w ? londonInstants(w) : []
    const show = twice.length === 2
    box.hidden = !show
    if (!show) {
      for (const c of box.querySelectorAll('input[type=radio]')) c.checked = false
      return
    }
    box.querySelector('[data-fold-legend]').textContent = `Which ${pad(w.h)}:${pad(w.mi)}?`
    box.querySelectorAll('label').forEach((label, i) => {
      label.textContent = `${i ? 'The second' : 'The first'}, ${twice[i].zone}`
    })
  }

  /** The time in UTC (ISO 8601) and, when it cannot be had, why (iso '' and no problem if left empty). */
  instant (name, what) {
    const { w, problem } = this.wall(name, what)
    if (problem) return { iso: '', problem }
    if (!w) return { iso: '', problem: null }
    const found = londonInstants(w)
    if (found.length === 0) {
      return { iso: '', problem: `There was no ${wallText(w)} in UK time: the clocks went forward an hour that night. Check when ${what}` }
    }
    if (found.length === 1) return { iso: found[0].iso, problem: null }
    const chosen = this.el.querySelector(`[data-fold="${name}"] input:checked`)
    if (chosen) return { iso: found[+chosen.value].iso, problem: null }
    return {
      iso: '',
      problem: `${wallText(w)} happened twice in UK time: the clocks went back an hour that night. Say which ${pad(w.h)}:${pad(w.mi)} it was: the first (${found[0].zone}) or the second (${found[1].zone})`
    }
  }

  setStatus (text) { this.status.textContent = text }

  setError (text) {
    this.problem = text
    this.error.hidden = !text
    this.error.textContent = text ? `Error: ${text}` : ''
    this.el.classList.toggle('bwv-upload__file--error', Boolean(text))
  }

  fieldError (name, text) {
    const group = this.el.querySelector(`[data-group="${name}"]`)
    if (!group) return
    const err = group.querySelector('[data-error]')
    group.classList.toggle('govuk-form-group--error', Boolean(text))
    for (const input of group.querySelectorAll('.bwv-datetime .govuk-input')) input.classList.toggle('govuk-input--error', Boolean(text))
    const hint = group.querySelector('[data-hint]')
    group.querySelector('fieldset').setAttribute('aria-describedby', text ? `${hint.id} ${err.id}` : hint.id)
    err.hidden = !text
    err.textContent = text ? `Error: ${text}` : ''
  }

  metadata (shared) {
    const staff = this.field('staff_number').value || shared.staff_number
    const camera = this.field('camera_serial').value || shared.camera_serial
    const meta = {
      filename: this.file.name,
      staff_number: staff,
      camera_serial: camera,
      recording_started_at: this.instant('recording_started_at', FIRST_FRAME).iso,
      prerecord_seconds: shared.prerecord_seconds || '0'
    }
    const activated = this.instant('activated_at', RECORD_PRESSED).iso
    if (activated) meta.activated_at = activated
    if (shared.incident_reference) meta.incident_reference = shared.incident_reference
    if (this.restorePurged) meta.restore_purged = 'true'
    return meta
  }

  validate (shared) {
    const problems = []
    const meta = this.metadata(shared)
    this.fieldError('recording_started_at', '')
    this.fieldError('activated_at', '')
    const first = this.instant('recording_started_at', FIRST_FRAME)
    const pressed = this.instant('activated_at', RECORD_PRESSED)
    if (first.problem) {
      const text = `${first.problem} (${this.file.name})`
      this.fieldError('recording_started_at', text)
      problems.push([`${this.id}-recording_started_at_date`, text])
    } else if (!meta.recording_started_at) {
      const text = `Enter the time of the first frame of ${this.file.name}`
      this.fieldError('recording_started_at', text)
      problems.push([`${this.id}-recording_started_at_date`, text])
    } else if (new Date(meta.recording_started_at) > new Date(Date.now() + 5 * 60000)) {
      const text = `The first frame of ${this.file.name} cannot be in the future`
      this.fieldError('recording_started_at', text)
      problems.push([`${this.id}-recording_started_at_date`, text])
    }
    if (pressed.problem) {
      const text = `${pressed.problem} (${this.file.name})`
      this.fieldError('activated_at', text)
      problems.push([`${this.id}-activated_at_date`, text])
    } else if (meta.activated_at && meta.recording_started_at && meta.activated_at < meta.recording_started_at) {
      const text = `Record pressed must be after the first frame of ${this.file.name}`
      this.fieldError('activated_at', text)
      problems.push([`${this.id}-activated_at_date`, text])
    }
    if (!meta.staff_number) problems.push(['shared-staff', `Choose who wore the camera for ${this.file.name}`])
    if (!meta.camera_serial) problems.push(['shared-camera', `Choose the camera for ${this.file.name}`])
    if (this.file.size === 0) problems.push([this.id, `${this.file.name} is empty`])
    if (this.file.size > this.owner.maxBytes) problems.push([this.id, `${this.file.name} is larger than ${fileSize(this.owner.maxBytes)}`])
    return problems
  }

  lock (locked) {
    for (const el of this.el.querySelectorAll('input, select')) el.disabled = locked
    this.el.querySelector('[data-remove]').hidden = locked
  }

  remove () {
    if (this.state === 'uploading') return
    this.el.remove()
    this.owner.items = this.owner.items.filter((x) => x !== this)
    this.owner.refresh()
  }

  async cancel () {
    this.cancelled = true
    if (this.xhr) this.xhr.abort()
    const url = localStorage.getItem(fingerprint(this.file))
    if (url) {
      await request('DELETE', url)
      localStorage.removeItem(fingerprint(this.file))
    }
    this.state = 'cancelled'
    this.setStatus('Cancelled')
    this.setError('')
    this.actions.hidden = true
    this.lock(false)
    if (this.owner.ran) this.owner.settle() // no longer listed as a problem at the top
  }

  showProgress (offset) {
    const pct = this.file.size ? Math.floor((offset / this.file.size) * 100) : 100
    this.progress.value = pct
    this.setStatus(`Uploading… ${pct}% (${fileSize(offset)} of ${fileSize(this.file.size)})`)
  }

  async create (meta) {
    const header = Object.entries(meta).map(([k, v]) => `${k} ${b64(String(v))}`).join(',')
    const xhr = await request('POST', '/api/v1/uploads', {
      headers: { 'Upload-Length': String(this.file.size), 'Upload-Metadata': header }
    })
    if (xhr.status !== 201) return { error: detail(xhr), fatal: xhr.status >= 400 && xhr.status < 500, status: xhr.status }
    const url = xhr.getResponseHeader('Location')
    localStorage.setItem(fingerprint(this.file), url)
    return { url }
  }

  async offset (url) {
    const xhr = await request('HEAD', url)
    if (xhr.status === 200) {
      return { offset: parseInt(xhr.getResponseHeader('Upload-Offset') || '0', 10), footageId: xhr.getResponseHeader('Bwv-Footage-Id') }
    }
    if (xhr.status === 404) return { gone: true }
    return { error: detail(xhr) }
  }

  async upload (shared) {
    this.state = 'uploading'
    this.cancelled = false
    this.setError('')
    this.actions.hidden = true
    this.purgedActions.hidden = true
    this.lock(true)
    let url = localStorage.getItem(fingerprint(this.file))
    let offset = 0
    let attempt = 0
    while (!this.cancelled) {
      if (!url) {
        this.setStatus('Checking the details…')
        const made = await this.create(this.metadata(shared))
        if (made.error) {
          this.notVideo = made.status === 415
          if (made.fatal || attempt >= RETRIES.length) return this.fail(made.error, !made.fatal)
          await sleep(RETRIES[attempt++])
          continue
        }
        url = made.url
        offset = 0
      } else {
        const at = await this.offset(url)
        if (at.gone) { localStorage.removeItem(fingerprint(this.file)); url = null; continue }
        if (at.error) {
          if (attempt >= RETRIES.length) return this.fail(at.error, true)
          this.setStatus(`Connection lost – trying again in ${RETRIES[attempt] / 1000}s`)
          await sleep(RETRIES[attempt++])
          continue
        }
        if (at.footageId) return this.done(at.footageId, false)
        offset = at.offset
      }
      // Send the file in chunks from the offset the server has.
      let failed = null
      while (offset < this.file.size && !this.cancelled) {
        const end = Math.min(offset + CHUNK, this.file.size)
        const start = offset
        const xhr = await new Promise((resolve) => {
          const x = new XMLHttpRequest()
          this.xhr = x
          x.open('PATCH', url)
          x.setRequestHeader('Tus-Resumable', '1.0.0')
          x.setRequestHeader('X-CSRF-Token', csrfToken())
          x.setRequestHeader('Upload-Offset', String(start))
          x.setRequestHeader('Content-Type', 'application/offset+octet-stream')
          x.upload.onprogress = (e) => this.showProgress(start + e.loaded)
          x.onload = x.onerror = x.onabort = () => resolve(x)
          x.send(this.file.slice(start, end))
        })
        this.xhr = null
        if (xhr.status === 204) {
          offset = parseInt(xhr.getResponseHeader('Upload-Offset') || String(end), 10)
          attempt = 0
          this.showProgress(offset)
          const fid = xhr.getResponseHeader('Bwv-Footage-Id')
          if (fid) return this.done(fid, xhr.getResponseHeader('Bwv-Duplicate') === 'true')
          continue
        }
        if (xhr.status === 409 && xhr.getResponseHeader('Bwv-Purged') === 'true') {
          localStorage.removeItem(fingerprint(this.file))
          return this.purged(xhr.getResponseHeader('Bwv-Footage-Id'), xhr.getResponseHeader('Bwv-Purged-On'))
        }
        if (xhr.status >= 400 && xhr.status < 500 && xhr.status !== 409 && xhr.status !== 423) {
          localStorage.removeItem(fingerprint(this.file))
          this.notVideo = xhr.status === 415
          return this.fail(detail(xhr), false)
        }
        failed = detail(xhr)
        break
      }
      if (this.cancelled) return
      if (failed) {
        if (attempt >= RETRIES.length) return this.fail(`${failed} The upload is paused at ${this.progress.value}%.`, true)
        this.setStatus(`Connection lost at ${this.progress.value}% – continuing in ${RETRIES[attempt] / 1000}s`)
        await sleep(RETRIES[attempt++])
      }
    }
  }

  done (footageId, duplicate) {
    localStorage.removeItem(fingerprint(this.file))
    this.state = 'done'
    this.progress.value = 100
    this.status.textContent = ''
    const link = document.createElement('a')
    link.className = 'govuk-link'
    link.href = `/footage/${footageId}`
    link.textContent = duplicate
      ? 'Already uploaded – view the footage'
      : this.restorePurged ? 'Stored again as new footage – view it' : 'Uploaded – view the footage'
    this.status.append(link)
    if (this.focusWhenDone) link.focus()
    this.focusWhenDone = false
    if (duplicate) {
      // The file is stored once, with the wearer, camera and times given the first time: say that what was
      // entered now was not used, so a correction is made on the clip's page, not assumed done.
      const note = document.createElement('span')
      note.className = 'govuk-body-s bwv-meta bwv-upload__note'
      note.textContent = ' This file was uploaded before: the details entered now were not used. ' +
        'The footage keeps its first wearer, camera and times.'
      this.status.append(note)
    }
    this.el.classList.add('bwv-upload__file--done')
  }

  // These bytes were a clip that retention deleted: nothing was stored. Say so, link to what remains of it,
  // and offer to store the file again: asked for, never assumed. The offer comes after the message, where
  // the error summary's link leads.
  purged (footageId, on) {
    this.fail(`This file was footage ${footageId}, deleted on ${on} under the retention policy: nothing was ` +
      'stored. Choose "Store it again" to store it as new footage.', false)
    this.purgedActions.querySelector('[data-purged-link]').href = `/footage/${footageId}`
    this.purgedActions.hidden = false
    this.deletedBefore = true // only "Store it again" sends it now: the page's own button would be refused again
  }

  /** Whether the page's Upload button sends this file: not once stored, nor a deleted clip's file not asked for,
   *  nor a file refused as not a video (sent again it would be refused again; a walk-through saw the button
   *  offer "Upload the 2 remaining files" for two such). */
  get toSend () { return this.state !== 'done' && !this.deletedBefore && !this.notVideo }

  fail (text, resumable) {
    this.state = 'failed'
    this.purgedActions.hidden = true
    this.setError(text)
    this.setStatus(resumable ? 'Paused' : 'Not uploaded')
    if (!resumable) this.progress.value = 0 // nothing was kept: a full bar would say otherwise
    this.actions.hidden = !resumable
    this.lock(false)
    if (!resumable) this.el.querySelector('[data-remove]').hidden = false
    if (this.focusWhenDone) {
      this.focusWhenDone = false
      this.error.focus()
    }
  }
}

class Uploader {
  constructor (root) {
    this.root = root
    this.items = []
    this.waiting = [] // files to send in the run going on (one after another)
    this.running = false
    this.maxBytes = parseInt(root.dataset.maxBytes, 10)
    this.list = root.querySelector('[data-bwv-file-list]')
    this.template = root.querySelector('[data-bwv-file-template]')
    this.input = root.querySelector('[data-bwv-file-input]')
    this.zone = root.querySelector('[data-bwv-dropzone]')
    this.empty = root.querySelector('[data-bwv-empty]')
    this.startButton = root.querySelector('[data-bwv-start]')
    this.errors = document.querySelector('[data-bwv-upload-errors]')
    this.errorList = document.querySelector('[data-bwv-upload-error-list]')
    this.input.addEventListener('change', () => { this.add(this.input.files); this.input.value = '' })
    for (const type of ['dragenter', 'dragover']) {
      this.zone.addEventListener(type, (e) => { e.preventDefault(); this.zone.classList.add('bwv-dropzone--active') })
    }
    for (const type of ['dragleave', 'drop']) {
      this.zone.addEventListener(type, () => this.zone.classList.remove('bwv-dropzone--active'))
    }
    this.zone.addEventListener('drop', (e) => { e.preventDefault(); this.add(e.dataTransfer.files) })
    root.addEventListener('submit', (e) => {
      e.preventDefault()
      const items = this.items.filter((i) => i.toSend)
      // Only a refused file left, one that waits for its own "Store it again": say again what stands.
      if (!items.length && this.items.some((i) => i.state === 'failed')) return this.settle(true)
      this.start(items)
    })
    window.addEventListener('beforeunload', (e) => {
      if (this.items.some((i) => i.state === 'uploading')) { e.preventDefault(); e.returnValue = '' }
    })
  }

  add (files) {
    for (const file of files) {
      if (this.items.some((i) => i.file.name === file.name && i.file.size === file.size)) continue
      const item = new Item(file, this.list, this.template)
      item.owner = this
      if (localStorage.getItem(fingerprint(file))) item.setStatus('Ready – will continue the earlier upload')
      this.items.push(item)
    }
    this.refresh()
  }

  refresh () {
    this.empty.hidden = this.items.length > 0
    if (this.ran) this.settle()
  }

  /** The GOV.UK error beside a shared field (who wore the camera, which camera), or none. */
  sharedError (id, text) {
    const field = document.getElementById(id)
    if (!field) return
    const group = field.closest('.govuk-form-group')
    let err = document.getElementById(`${id}-error`)
    if (!err && text) {
      err = document.createElement('p')
      err.className = 'govuk-error-message'
      err.id = `${id}-error`
      field.before(err)
    }
    if (err) {
      err.hidden = !text
      err.textContent = text ? `Error: ${text}` : ''
    }
    group.classList.toggle('govuk-form-group--error', Boolean(text))
    field.classList.toggle('govuk-select--error', Boolean(text))
    if (text) field.setAttribute('aria-describedby', err.id)
    else field.removeAttribute('aria-describedby')
  }

  shared () {
    const v = (id) => (document.getElementById(id) || {}).value || ''
    return {
      staff_number: v('shared-staff'),
      camera_serial: v('shared-camera'),
      prerecord_seconds: v('shared-prerecord'),
      incident_reference: v('shared-incident')
    }
  }

  showErrors (problems, focus = true) {
    this.errorList.textContent = ''
    for (const [id, text] of problems) {
      const li = document.createElement('li')
      const a = document.createElement('a')
      a.href = `#${id}`
      a.textContent = text
      li.append(a)
      this.errorList.append(li)
    }
    this.errors.hidden = problems.length === 0
    if (problems.length && focus) this.errors.focus()
  }

  async start (items) {
    const shared = this.shared()
    const problems = items.length ? items.flatMap((i) => i.validate(shared)) : [['files', 'Choose the video files to upload']]
    const seen = new Set()
    if (problems.length) this.ran = false // what is wrong now stays at the top until the next start
    this.showErrors(problems.filter(([id, text]) => !seen.has(text) && seen.add(text)))
    const missing = (id) => problems.some(([where]) => where === id)
    this.sharedError('shared-staff', missing('shared-staff') ? 'Choose who wore the camera' : '')
    this.sharedError('shared-camera', missing('shared-camera') ? 'Choose the camera' : '')
    if (problems.length) return
    if (this.running) {
      // One file after another: a file started while others are being sent (its "Try again" or "Store it
      // again") waits for them, in the same run.
      for (const item of items) {
        if (this.waiting.includes(item) || item.state === 'uploading') continue
        this.waiting.push(item)
        item.setStatus('Waiting for the file being sent')
      }
      return
    }
    this.running = true
    this.waiting = [...items]
    this.startButton.disabled = true
    while (this.waiting.length) {
      const item = this.waiting.shift()
      if (item.state === 'done' || item.state === 'uploading') continue
      await item.upload(shared)
    }
    this.running = false
    this.startButton.disabled = false
    this.ran = true
    this.settle(true)
  }

  /** After a run: each file refused or paused said once more at the top, as GOV.UK forms do, linked to its
   *  card (with many files, a refusal far down the list is otherwise missed), and the button says how many
   *  files are left. Again when a file is removed. */
  settle (focus = false) {
    const failed = this.items.filter((i) => i.state === 'failed')
    this.showErrors(failed.map((i) => [i.error.id, `${i.file.name}: ${i.problem}`]), focus)
    const left = this.items.filter((i) => i.toSend).length
    this.startButton.textContent = !left
      ? 'Upload files'
      : left === 1 ? 'Upload the remaining file' : `Upload the ${left} remaining files`
  }
}

if (form) new Uploader(form) // eslint-disable-line no-new
