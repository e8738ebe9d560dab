// booking.js: the clients' booking page. It calls clinic-gateway with the Connect protocol (JSON
// over POST, the same methods `clinic` uses): log in, find free times in the clinic's own time
// zone, book with one click, see one's appointments, move or cancel one, keep one's health
// history and consent up to date. No framework, no build step.
'use strict';

const TOKEN_KEY = 'clinic-token';
const SEARCH_PAGES = 5; // at most this many pages of free times per search
const CANCEL_REASON = 'cancelled by the client on the booking page';
const TAKEN = 'That time has just been taken by someone else. Please pick another one.';

const state = {
  user: null,          // clinic.v1.User of the logged-in client
  locations: new Map(), // id -> Location
  services: new Map(),  // id -> Service
  moving: null,         // the appointment being moved, while its new time is chosen
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ talking to the gateway

class CallError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// A key for a call that changes something: sent again with a retry, it books once.
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// What went wrong, in plain words; the clinic's own sentence follows where it says more.
function plainWords(code, message, loggingIn) {
  switch (code) {
    case 'unauthenticated':
      return loggingIn ? message : 'Your session has ended. Please log in again.';
    case 'resource_exhausted':
      return 'Too many attempts. ' + message;
    case 'aborted':
      return TAKEN;
    case 'failed_precondition':
      // a time shown a moment ago and booked by someone else since
      return /^(busy|rooms: every room)/.test(message) ? TAKEN : message;
    case 'permission_denied':
      return 'That is not something you can change here. ' + message;
    case 'unavailable':
    case 'deadline_exceeded':
      return 'The clinic cannot answer just now. Please try again in a moment.';
    default:
      return message || 'Something went wrong. Please try again.';
  }
}

async function call(method, body, options = {}) {
  const headers = {
    'Content-Type': 'application/json',
    'Connect-Protocol-Version': '1',
    'Connect-Timeout-Ms': '15000',
  };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (options.key) headers['Idempotency-Key'] = options.key;
  let response;
  try {
    response = await fetch('/clinic.v1.' + method, {
      method: 'POST',
      headers,
      body: JSON.stringify(body || {}),
    });
  } catch (e) {
    throw new CallError('unavailable', plainWords('unavailable', ''));
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const code = (data && data.code) || 'unknown';
    const message = (data && data.message) || '';
    if (code === 'unauthenticated' && !options.loggingIn) signOut();
    throw new CallError(code, plainWords(code, message, options.loggingIn));
  }
  return data || {};
}

// ------------------------------------------------------------------ messages

function tell(text) {
  $('problem').textContent = '';
  $('news').textContent = text;
}

function complain(error) {
  $('news').textContent = '';
  $('problem').textContent = error instanceof CallError ? error.message : String(error);
}

// ------------------------------------------------------------------ times, in the clinic's zone

function dayHeading(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, weekday: 'long', day: 'numeric', month: 'long',
  }).format(new Date(instant));
}

function clock(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(instant));
}

// "YYYY-MM-DD" of an instant in zone.
function localDate(instant, zone) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
  }).formatToParts(instant);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

// The date `days` after "YYYY-MM-DD" (calendar arithmetic, no zone involved).
function addDays(date, days) {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function describe(appointment) {
  const zone = appointment.timeZone;
  return `${dayHeading(appointment.startTime, zone)}, ${clock(appointment.startTime, zone)}` +
    `–${clock(appointment.endTime, zone)}`;
}

// ------------------------------------------------------------------ logging in and out

function showSignedIn(signedIn) {
  $('login-section').hidden = signedIn;
  $('search-section').hidden = !signedIn;
  $('mine-section').hidden = !signedIn;
  $('calendar-section').hidden = !signedIn;
  $('health-section').hidden = !signedIn;
  $('feed').hidden = true;
  $('feed-url').value = '';
  $('logout').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.user = null;
  state.moving = null;
  showSignedIn(false);
}

async function start() {
  const who = await call('Auth/WhoAmI', {});
  const user = who.user || {};
  if (user.role !== 'ROLE_CLIENT' || !user.clientId || user.clientId === '0') {
    signOut();
    throw new CallError('permission_denied',
      'This page is for clients of the clinic; staff use the clinic tool.');
  }
  state.user = user;
  $('who').textContent = 'Logged in as ' + (user.name || user.email);
  showSignedIn(true);
  await loadChoices();
  await showMine();
  await loadHealth();
}

async function logIn(event) {
  event.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  try {
    const reply = await call('Auth/Login', { email, password }, { loggingIn: true });
    sessionStorage.setItem(TOKEN_KEY, reply.token);
    $('password').value = '';
    await start();
    tell('You are logged in.');
    $('location').focus();
  } catch (e) {
    complain(e);
  }
}

async function logOut() {
  try {
    await call('Auth/Logout', {}, { key: newKey() });
  } catch (e) {
    // the token is forgotten here whatever the clinic said
  }
  signOut();
  tell('You are logged out.');
  $('email').focus();
}

// ------------------------------------------------------------------ choosing what and where

function fill(select, items, label, first) {
  select.replaceChildren();
  if (first) select.append(new Option(first.label, first.value));
  for (const item of items) select.append(new Option(label(item), item.id));
}

async function loadChoices() {
  const [locations, services] = await Promise.all([
    call('Locations/ListLocations', { pageSize: 100 }),
    call('Services/ListServices', { pageSize: 100 }),
  ]);
  state.locations = new Map((locations.locations || []).map((l) => [l.id, l]));
  state.services = new Map((services.services || []).map((s) => [s.id, s]));
  fill($('location'), state.locations.values(), (l) => l.name);
  fill($('service'), state.services.values(), (s) => `${s.name} (${s.durationMinutes} min)`);
  await loadTherapists();
}

async function loadTherapists() {
  const serviceId = $('service').value;
  if (!serviceId) return;
  const reply = await call('Therapists/ListTherapists', { serviceId, pageSize: 100 });
  fill($('therapist'), reply.therapists || [], (t) => t.name, { label: 'Anyone', value: '0' });
}

// ------------------------------------------------------------------ free times and booking

// Shows the free times; `event` is the form's submit (a search the person asked for), absent
// when the page looks again after a booking, whose message must stay on screen.
async function search(event) {
  if (event) {
    event.preventDefault();
    $('problem').textContent = '';
  }
  const location = state.locations.get($('location').value);
  if (!location) return;
  const zone = location.timeZone;
  const today = localDate(new Date(), zone);
  const request = {
    serviceId: $('service').value,
    locationId: location.id,
    therapistId: $('therapist').value || '0',
    from: `${today} 00:00`,
    to: `${addDays(today, Number($('days').value))} 00:00`,
    pageSize: 200,
  };
  $('zone-note').textContent = `Times are in the clinic's time zone (${zone}).`;
  try {
    const slots = [];
    for (let page = 0; page < SEARCH_PAGES; page++) {
      const reply = await call('Scheduling/FindSlots', request);
      slots.push(...(reply.slots || []));
      if (!reply.nextPageToken) break;
      request.pageToken = reply.nextPageToken;
    }
    showSlots(slots, location);
  } catch (e) {
    complain(e);
  }
}

function showSlots(slots, location) {
  const box = $('slots');
  box.replaceChildren();
  if (slots.length === 0) {
    const none = document.createElement('p');
    none.textContent = 'No free times in these days. Try more days ahead or another therapist.';
    box.append(none);
    return;
  }
  const zone = location.timeZone;
  let day = null;
  let row = null;
  for (const slot of slots) {
    const heading = dayHeading(slot.startTime, zone);
    if (heading !== day) {
      day = heading;
      const group = document.createElement('div');
      group.className = 'day';
      const h = document.createElement('h3');
      h.textContent = heading;
      row = document.createElement('div');
      row.className = 'times';
      group.append(h, row);
      box.append(group);
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'quiet';
    const at = clock(slot.startTime, zone);
    const verb = state.moving ? 'Move to' : 'Book';
    button.textContent = `${at} · ${slot.therapistName}`;
    button.setAttribute('aria-label', `${verb} ${heading} at ${at} with ${slot.therapistName}`);
    button.addEventListener('click', () =>
      (state.moving ? move(state.moving, slot, button) : book(slot, location, button)));
    row.append(button);
  }
}

async function book(slot, location, button) {
  button.disabled = true;
  try {
    const appointment = await call('Scheduling/Book', {
      clientId: state.user.clientId,
      serviceId: $('service').value,
      locationId: location.id,
      startTime: slot.startTime,
      therapistId: slot.therapistId,
    }, { key: newKey() });
    tell(`Booked: ${appointment.serviceName}, ${describe(appointment)} with ` +
      `${appointment.therapistName}.` + paperworkNote(appointment));
    await showMine();
  } catch (e) {
    complain(e);
  }
  await search();
}

// Moving: the search form looks for the appointment's treatment at its location, and a time
// chosen moves it there (with the therapist of that time) instead of booking a new one.
function startMoving(appointment) {
  state.moving = appointment;
  $('location').value = appointment.locationId;
  $('service').value = appointment.serviceId;
  $('location').disabled = true;
  $('service').disabled = true;
  $('moving-note').textContent = `Choose a new time for ${appointment.serviceName} on ` +
    `${describe(appointment)}.`;
  $('moving').hidden = false;
  loadTherapists().then(() => search()).catch(complain);
  $('search-title').scrollIntoView();
  $('stop-moving').focus();
}

function stopMoving() {
  state.moving = null;
  $('location').disabled = false;
  $('service').disabled = false;
  $('moving').hidden = true;
  $('slots').replaceChildren();
}

async function move(appointment, slot, button) {
  button.disabled = true;
  try {
    const moved = await call('Scheduling/Reschedule', {
      appointmentId: appointment.id,
      startTime: slot.startTime,
      therapistId: slot.therapistId,
    }, { key: newKey() });
    stopMoving();
    tell(`Moved: ${moved.serviceName} is now ${describe(moved)} with ${moved.therapistName}.`);
    await showMine();
  } catch (e) {
    complain(e);
    await search();
  }
}

// ------------------------------------------------------------------ one's appointments

// What cancelling now means: free until the window opens, late after.
function cancelNote(appointment) {
  const location = state.locations.get(appointment.locationId);
  const hours = location ? location.cancellationWindowHours : 0;
  const start = new Date(appointment.startTime);
  const deadline = new Date(start.getTime() - hours * 3600 * 1000);
  if (!hours) return { late: false, text: 'You can cancel free of charge.' };
  if (Date.now() >= deadline.getTime())
    return {
      late: true,
      text: `Cancelling now is a late cancellation (less than ${hours} hours before).`,
    };
  return {
    late: false,
    text: `Free cancellation until ${dayHeading(deadline, appointment.timeZone)}, ` +
      `${clock(deadline, appointment.timeZone)}.`,
  };
}

async function showMine() {
  const zone = state.locations.size ? state.locations.values().next().value.timeZone : 'UTC';
  const reply = await call('Scheduling/ClientAppointments', {
    clientId: state.user.clientId,
    from: `${localDate(new Date(), zone)} 00:00`,
    pageSize: 100,
  });
  const list = $('mine');
  list.replaceChildren();
  const upcoming = (reply.appointments || []).filter(
    (a) => a.status === 'APPOINTMENT_STATUS_BOOKED' && new Date(a.endTime) > new Date());
  if (upcoming.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'No appointments booked.';
    list.append(li);
    return;
  }
  for (const a of upcoming) list.append(appointmentItem(a));
}

function appointmentItem(a) {
  const li = document.createElement('li');
  const when = document.createElement('p');
  when.className = 'when';
  when.textContent = describe(a);
  const what = document.createElement('p');
  what.textContent = `${a.serviceName} with ${a.therapistName}, room ${a.roomName}`;
  const note = cancelNote(a);
  const policy = document.createElement('p');
  policy.className = note.late ? 'note late' : 'note';
  policy.textContent = note.text;
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'quiet';
  cancel.textContent = 'Cancel…';
  cancel.setAttribute('aria-label', `Cancel the appointment on ${describe(a)}`);
  const confirm = document.createElement('button');
  confirm.type = 'button';
  confirm.hidden = true;
  confirm.textContent = note.late ? 'Yes, cancel it (late)' : 'Yes, cancel it';
  cancel.addEventListener('click', () => {
    confirm.hidden = false;
    confirm.focus();
  });
  confirm.addEventListener('click', () => cancelAppointment(a, confirm));
  const moveButton = document.createElement('button');
  moveButton.type = 'button';
  moveButton.className = 'quiet';
  moveButton.textContent = 'Move…';
  moveButton.setAttribute('aria-label', `Move the appointment on ${describe(a)}`);
  moveButton.addEventListener('click', () => startMoving(a));
  li.append(when, what, policy, moveButton, cancel, confirm);
  return li;
}

async function cancelAppointment(a, button) {
  button.disabled = true;
  try {
    const cancelled = await call('Scheduling/Cancel',
      { appointmentId: a.id, reason: CANCEL_REASON }, { key: newKey() });
    tell(`Cancelled: ${describe(a)}.` +
      (cancelled.lateCancel ? ' It was a late cancellation.' : ''));
    await showMine();
  } catch (e) {
    button.disabled = false;
    complain(e);
  }
}

// ------------------------------------------------------------------ the calendar feed

// ------------------------------------------------------------------ health history and consent

// In the client's words; the values are clinic.v1.RedFlag's and Contraindication's.
const RED_FLAGS = [
  ['RED_FLAG_SADDLE_ANAESTHESIA', 'Numbness around the groin or between the legs'],
  ['RED_FLAG_BLADDER_BOWEL_DYSFUNCTION', 'New trouble controlling your bladder or bowel'],
  ['RED_FLAG_PROGRESSIVE_WEAKNESS_NUMBNESS', 'Weakness or numbness in a leg that is getting worse'],
  ['RED_FLAG_CANCER_HISTORY', 'You have had cancer'],
  ['RED_FLAG_UNEXPLAINED_WEIGHT_LOSS', 'Weight loss you cannot explain'],
  ['RED_FLAG_FEVER_OR_INFECTION', 'A fever, or an infection in the last weeks'],
  ['RED_FLAG_SIGNIFICANT_TRAUMA', 'A fall, accident or blow to your back'],
  ['RED_FLAG_CONSTANT_NIGHT_PAIN', 'Pain all night long, whatever position you lie in'],
];
const CONTRAINDICATIONS = [
  ['CONTRAINDICATION_FEVER', 'A fever today'],
  ['CONTRAINDICATION_SUSPECTED_DVT', 'A swollen, painful, warm calf or leg'],
  ['CONTRAINDICATION_ACUTE_INFECTION', 'An infection now (flu, a chest or skin infection)'],
  ['CONTRAINDICATION_CONTAGIOUS_SKIN_CONDITION', 'A skin condition that others can catch'],
  ['CONTRAINDICATION_RECENT_FRACTURE', 'A broken bone in the last months'],
  ['CONTRAINDICATION_ACUTE_INFLAMMATION', 'A hot, swollen, newly painful joint or muscle'],
  ['CONTRAINDICATION_UNCONTROLLED_HYPERTENSION', 'High blood pressure that is not under control'],
  ['CONTRAINDICATION_BLEEDING_DISORDER', 'A bleeding disorder'],
];

function checkboxes(fieldset, items) {
  for (const [value, text] of items) {
    const label = document.createElement('label');
    label.className = 'check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = value;
    label.append(box, ' ' + text);
    fieldset.append(label);
  }
}

function ticked(fieldset) {
  return Array.from(fieldset.querySelectorAll('input:checked'), (box) => box.value);
}

function tick(fieldset, values) {
  for (const box of fieldset.querySelectorAll('input')) box.checked = values.includes(box.value);
}

// What a booking's care alerts ask of the client, or ''.
function paperworkNote(appointment) {
  const alerts = appointment.careAlerts || [];
  const asks = [];
  if (alerts.includes('CARE_ALERT_INTAKE_MISSING')) asks.push('fill in your health history');
  if (alerts.includes('CARE_ALERT_INTAKE_OUT_OF_DATE')) asks.push('check your health history');
  if (alerts.includes('CARE_ALERT_CONSENT_MISSING')) asks.push('give your consent to treatment');
  return asks.length ? ' Before your visit, please ' + asks.join(' and ') + ' below.' : '';
}

// Fills the form with the newest version (none yet: an empty form) and shows the consent.
async function loadHealth() {
  const own = { clientId: state.user.clientId };
  let intake = {};
  try {
    intake = await call('Intakes/GetIntake', own);
    $('health-status').textContent = `Version ${intake.version}, saved ` +
      new Date(intake.recordedAt).toLocaleDateString('en-GB') +
      (intake.outOfDate ? '. It is over a year old: please check it and save it again.' : '.');
  } catch (e) {
    if (e.code !== 'not_found') throw e;
    $('health-status').textContent = 'You have not filled it in yet.';
  }
  $('conditions').value = intake.conditions || '';
  $('medications').value = intake.medications || '';
  $('surgery').value = intake.surgeryOrInjury || '';
  $('devices').value = intake.implantedDevices || '';
  $('allergies').value = intake.otherAllergies || '';
  $('anticoagulants').checked = !!intake.anticoagulants;
  $('pregnant').checked = !!intake.pregnant;
  $('oil-allergy').checked = !!intake.oilAllergy;
  $('latex-allergy').checked = !!intake.latexAllergy;
  tick($('red-flags'), intake.redFlags || []);
  tick($('contraindications'), intake.contraindications || []);
  const consents = await call('Consents/ListConsents', own);
  const general = (consents.consents || []).find(
    (c) => c.kind === 'CONSENT_KIND_GENERAL' && c.inForce);
  $('consent-status').textContent = general
    ? 'You agreed to massage treatment on ' +
      new Date(general.givenAt).toLocaleDateString('en-GB') + '.'
    : 'Before your first session, please confirm that you agree to massage treatment. ' +
      'Your therapist explains what they will do and you may stop at any time.';
  $('give-consent').hidden = !!general;
}

async function saveHealth(event) {
  event.preventDefault();
  const button = $('intake').querySelector('button');
  button.disabled = true;
  try {
    const status = await call('Intakes/RecordIntake', {
      clientId: state.user.clientId,
      intake: {
        conditions: $('conditions').value,
        medications: $('medications').value,
        surgeryOrInjury: $('surgery').value,
        implantedDevices: $('devices').value,
        otherAllergies: $('allergies').value,
        anticoagulants: $('anticoagulants').checked,
        pregnant: $('pregnant').checked,
        oilAllergy: $('oil-allergy').checked,
        latexAllergy: $('latex-allergy').checked,
        redFlags: ticked($('red-flags')),
        contraindications: ticked($('contraindications')),
      },
    }, { key: newKey() });
    tell(`Your health history is saved (version ${status.version}).` +
      (status.healthFlag ? ' Your therapist will talk it through with you before treating.' : ''));
    await loadHealth();
  } catch (e) {
    complain(e);
  } finally {
    button.disabled = false;
  }
}

async function giveConsent() {
  try {
    await call('Consents/GiveConsent', {
      clientId: state.user.clientId, kind: 'CONSENT_KIND_GENERAL', how: 'on the booking page',
    }, { key: newKey() });
    tell('Thank you: your consent to treatment is recorded.');
    await loadHealth();
  } catch (e) {
    complain(e);
  }
}

// A new link to the client's calendar feed (the one before stops working). No idempotency key:
// the reply holds the new secret, which the clinic does not keep.
async function makeFeed() {
  const button = $('make-feed');
  button.disabled = true;
  try {
    const link = await call('Calendar/RotateClientFeed', {});
    $('feed-url').value = window.location.origin + link.path;
    // webcal: is how calendar apps are asked to subscribe rather than import once
    $('feed-open').href = 'webcal://' + window.location.host + link.path;
    $('feed').hidden = false;
    $('feed-url').focus();
    $('feed-url').select();
    tell('Your calendar link is ready. A link made before no longer works.');
  } catch (e) {
    complain(e);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', logIn);
  $('logout').addEventListener('click', logOut);
  $('search').addEventListener('submit', search);
  $('make-feed').addEventListener('click', makeFeed);
  $('intake').addEventListener('submit', saveHealth);
  $('give-consent').addEventListener('click', giveConsent);
  checkboxes($('red-flags'), RED_FLAGS);
  checkboxes($('contraindications'), CONTRAINDICATIONS);
  $('stop-moving').addEventListener('click', () => { stopMoving(); tell('Nothing was moved.'); });
  $('service').addEventListener('change', () => loadTherapists().catch(complain));
  if (sessionStorage.getItem(TOKEN_KEY)) start().catch((e) => { signOut(); complain(e); });
  else showSignedIn(false);
});
