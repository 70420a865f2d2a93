/*
 * emit.js -- the browser client of emitcgi, shaped like socket.io's.
 *
 *   const socket = io();                      // or io({ base: '/api' })
 *   socket.on('user count', function (n) { ... });
 *   socket.emit('chat message', 'hi');        // POST /api/emit, a Promise
 *   socket.connected, socket.transport        // true/false, 'sse'/'polling'
 *   socket.on('connect' | 'disconnect' | 'connect_error' |
 *             'reconnect_attempt', fn);
 *   socket.connect(); socket.disconnect();
 *
 * How it works (docs/CLIENT.md has the full story):
 *  - An Engine holds one connection: an EventSource on BASE/events first,
 *    long-poll on BASE/poll?since=ID&timeout=S when EventSource is missing,
 *    when no stream opens within sseOpenTimeout (a buffering proxy), or when
 *    streams keep failing while the session is fine.  Failed attempts are
 *    retried with exponential backoff and jitter; 401 stops it (the app logs
 *    in and calls connect()).
 *  - Every event carries an id.  The socket keeps the last id it delivered in
 *    sessionStorage, resumes from it (SSE: ?lastEventId=, and the browser's
 *    own Last-Event-ID on its reconnects; poll: since=), drops any id it has
 *    already seen, and on `reset` forgets the id and takes the snapshot.
 *  - The tabs of one browser share one Engine: the tab that holds the Web
 *    Lock "emitcgi-leader:BASE" runs it and relays what it gets over the
 *    BroadcastChannel "emitcgi:BASE"; the others follow.  When the leader
 *    closes, the lock passes to another tab, which connects from its own
 *    last id.  A tab that joins or reloads says `hello` with its last id and
 *    the leader replays what it missed from a ring of recent events, or a
 *    reset and the snapshot when the ring does not reach back that far.
 *
 * Invariants: the ids one socket delivers only increase until a reset (the
 * one exception: a follower that joined without an id may get the leader's
 * `user count` snapshot after a newer live event, so that it has a count);
 * only the leader (or an unshared socket) talks to BASE/events and
 * BASE/poll; every callback of an attempt checks the Engine's generation,
 * so nothing from a stopped attempt reaches the app; a throwing handler is
 * reported asynchronously and delivery goes on.
 *
 * To extend: a new transport is an Engine method like _poll or _openSse
 * that calls this._opened(), this._event() and this._fail(), with its
 * resources released in _teardown(); a new relay message is one case in
 * Socket#_onMessage.  No build step: this file is the library, plain ES5
 * plus Promise and fetch.
 */
(function (root) {
	'use strict';

	var VERSION = '1.0.0';

	/* Events that are the socket's own, never sent to or received from the
	 * server under these names. */
	var LOCAL_EVENTS = {
		connect: 1, disconnect: 1, connect_error: 1, reconnect_attempt: 1
	};
	/* Names the leader always listens for on an EventSource. */
	var BASE_NAMES = ['user count', 'user', 'reset', 'message'];

	var RING_MAX = 1024;
	/* The server's "retry:" (SPEC): the browser's own reconnect delay. */
	var SSE_RETRY_MS = 3000;
	/* Never poll more often than this when polls come back empty at once. */
	var POLL_MIN_MS = 1000;

	function defaultBase() {
		var m = root.document &&
			root.document.querySelector('meta[name="emitcgi-base"]');
		var b = m && m.getAttribute('content');
		return b != null ? b : '/api';
	}

	function extend(dst, src) {
		var k;
		for (k in src) {
			if (Object.prototype.hasOwnProperty.call(src, k) &&
			    src[k] !== undefined)
				dst[k] = src[k];
		}
		return dst;
	}

	function later(fn) {
		setTimeout(fn, 0);
	}

	/* A handler that throws must not stop delivery to the next one. */
	function callSafe(fn, ctx, args) {
		try {
			fn.apply(ctx, args);
		} catch (e) {
			later(function () { throw e; });
		}
	}

	function randomId() {
		if (root.crypto && root.crypto.randomUUID)
			return root.crypto.randomUUID();
		return String(Math.random()).slice(2) + String(Date.now());
	}

	function toId(v) {
		if (v === null || v === undefined || v === '')
			return null;
		var n = Number(v);
		return isFinite(n) && n >= 0 && Math.floor(n) === n ? n : null;
	}

	/* An Error for a failed HTTP exchange: .status, .code, .retryAfter (s). */
	function httpError(res, body) {
		var msg = (body && body.message) || ('HTTP ' + res.status);
		var e = new Error(msg);
		e.status = res.status;
		e.code = (body && body.error) || 'http_' + res.status;
		var ra = res.headers && res.headers.get('Retry-After');
		if (ra && isFinite(Number(ra)))
			e.retryAfter = Number(ra);
		e.data = body || null;
		return e;
	}

	function readJson(res) {
		return res.text().then(function (t) {
			if (!t)
				return null;
			try {
				return JSON.parse(t);
			} catch (e) {
				return null;
			}
		});
	}

	/* ---- storage of the last id (per tab, survives reloads) ---- */

	/* Keeps {id, count}: the last id delivered and the newest user count
	 * (its id and value), so that a reloaded leader can still answer a new
	 * tab with a snapshot. */
	function Store(key) {
		this.key = key;
		this.s = null;
		try {
			this.s = root.sessionStorage || null;
		} catch (e) {
			this.s = null;
		}
	}
	Store.prototype.get = function () {
		var v = null;
		try {
			v = this.s && JSON.parse(this.s.getItem(this.key));
		} catch (e) {
			v = null;
		}
		if (!v || typeof v !== 'object' || toId(v.id) === null)
			return { id: null, count: null };
		var c = v.count;
		return {
			id: toId(v.id),
			count: c && typeof c === 'object' && toId(c.id) !== null ?
				{ id: toId(c.id), data: c.data } : null
		};
	};
	Store.prototype.set = function (id, count) {
		if (!this.s)
			return;
		try {
			if (id === null)
				this.s.removeItem(this.key);
			else
				this.s.setItem(this.key,
					JSON.stringify({ id: id, count: count }));
		} catch (e) { /* quota or privacy mode: resume only in memory */ }
	};

	/* ---- Engine: one connection with reconnects ---- */

	/*
	 * sink: { lastId(), event(ev), seen(id), opened(transport),
	 *         closed(reason), error(err, fatal), attempt(n, delayMs) }
	 */
	function Engine(opts, sink) {
		this.o = opts;
		this.sink = sink;
		this.names = {};
		this.gen = 0;           /* bumps on stop(): stale callbacks bail */
		this.running = false;
		this.connected = false;
		this.transport = null;
		this.attempts = 0;
		this.sseFailures = 0;   /* consecutive SSE attempts that never opened */
		this.sseEverOpened = false;
		this.forcePolling = opts.transports.indexOf('sse') < 0 ||
			typeof root.EventSource !== 'function';
		this.es = null;
		this.abort = null;
		this.timer = null;
		var i;
		for (i = 0; i < BASE_NAMES.length; i++)
			this.names[BASE_NAMES[i]] = 1;
	}

	Engine.prototype.addName = function (name) {
		if (LOCAL_EVENTS[name] || this.names[name])
			return;
		this.names[name] = 1;
		if (this.es)
			this.es.addEventListener(name, this.onEs);
	};

	Engine.prototype.start = function () {
		if (this.running)
			return;
		this.running = true;
		this.attempts = 0;
		this._connect();
	};

	/* The network is back: skip the rest of a backoff wait. */
	Engine.prototype.nudge = function () {
		if (this.running && this.timer && !this.connected) {
			clearTimeout(this.timer);
			this._connect();
		}
	};

	Engine.prototype.stop = function (reason) {
		this.running = false;
		this.gen++;
		this._teardown();
		this._closed(reason || 'io client disconnect');
	};

	Engine.prototype._teardown = function () {
		if (this.timer) {
			clearTimeout(this.timer);
			this.timer = null;
		}
		if (this.es) {
			this.es.close();
			this.es = null;
		}
		if (this.abort) {
			this.abort.abort();
			this.abort = null;
		}
	};

	Engine.prototype._connect = function () {
		this.timer = null;
		if (!this.running)
			return;
		if (this.forcePolling ||
		    this.o.transports.indexOf('sse') < 0)
			this._poll();
		else
			this._openSse();
	};

	Engine.prototype._opened = function (transport) {
		this.attempts = 0;
		this.transport = transport;
		if (!this.connected) {
			this.connected = true;
			this.sink.opened(transport);
		}
	};

	Engine.prototype._closed = function (reason) {
		if (this.connected) {
			this.connected = false;
			this.sink.closed(reason);
		}
	};

	Engine.prototype._event = function (ev) {
		this.sink.event(ev);
	};

	/* A failed attempt: give up on 401/403, else back off and retry. */
	Engine.prototype._fail = function (err) {
		var self = this;
		var gen = this.gen;
		this._teardown();
		this._closed('transport error');
		if (!this.running)
			return;
		if (err.status === 401 || err.status === 403) {
			this.running = false;
			this.sink.error(err, true);
			return;
		}
		this.sink.error(err, false);
		if (gen !== this.gen || !this.running)
			return; /* an error handler called disconnect() */
		this.attempts++;
		var o = this.o;
		var d = Math.min(o.reconnectionDelayMax,
			o.reconnectionDelay * Math.pow(2, this.attempts - 1));
		var j = d * o.randomizationFactor;
		d = Math.round(d - j + Math.random() * 2 * j);
		if (err.retryAfter)
			d = Math.max(d, err.retryAfter * 1000);
		this.sink.attempt(this.attempts, d);
		if (gen !== this.gen || !this.running)
			return;
		this.timer = setTimeout(function () { self._connect(); }, d);
	};

	/* -- SSE -- */

	Engine.prototype._openSse = function () {
		var self = this;
		var gen = this.gen;
		var id = this.sink.lastId();
		var url = this.o.base + '/events' +
			(id !== null ? '?lastEventId=' + encodeURIComponent(id) : '');
		var es, opened = false, browserRetries = 0, name;
		try {
			es = new root.EventSource(url);
		} catch (e) {
			this.forcePolling = true;
			this._poll();
			return;
		}
		this.es = es;
		this.onEs = function (e) {
			if (gen !== self.gen)
				return;
			var data;
			try {
				data = JSON.parse(e.data);
			} catch (x) {
				data = e.data;
			}
			/* A reset carries no id: the EventSource would show the
			 * previous one. */
			var eid = e.type === 'reset' ? null : toId(e.lastEventId);
			self._event({ id: eid, event: e.type, data: data });
		};
		for (name in this.names)
			es.addEventListener(name, this.onEs);
		var openTimer = setTimeout(function () {
			if (gen !== self.gen || opened)
				return;
			/* Headers never came: something buffers the stream. */
			self.forcePolling = true;
			self._teardown();
			self._poll();
		}, this.o.sseOpenTimeout);
		es.onopen = function () {
			if (gen !== self.gen)
				return;
			opened = true;
			browserRetries = 0;
			clearTimeout(openTimer);
			self.sseFailures = 0;
			self.sseEverOpened = true;
			self._opened('sse');
		};
		es.onerror = function () {
			if (gen !== self.gen)
				return;
			clearTimeout(openTimer);
			if (es.readyState === 0 /* CONNECTING */ && opened &&
			    browserRetries < 2) {
				/* The stream dropped; the browser reconnects by itself
				 * with Last-Event-ID.  Say so, and let it. */
				browserRetries++;
				self._closed('transport close');
				self.sink.attempt(browserRetries, SSE_RETRY_MS);
				return;
			}
			es.close();
			self.es = null;
			if (!opened)
				self.sseFailures++;
			self._sseFailed();
		};
	};

	/* The EventSource gave up (a non-200 answer, or the network).  It does not
	 * tell the status, so ask BASE/me whether the session is the reason. */
	Engine.prototype._sseFailed = function () {
		var self = this;
		var gen = this.gen;
		fetch(this.o.base + '/me', {
			credentials: 'same-origin', cache: 'no-store',
			headers: { Accept: 'application/json' }
		}).then(function (res) {
			if (gen !== self.gen)
				return;
			if (res.status === 401 || res.status === 403) {
				return readJson(res).then(function (b) {
					self._fail(httpError(res, b));
				});
			}
			if (res.ok && !self.sseEverOpened &&
			    self.sseFailures >= 2) {
				/* Signed in, yet no stream ever opened: try long-poll. */
				self.forcePolling = true;
			}
			var e = new Error(res.ok ? 'event stream failed' :
				'server answered ' + res.status);
			e.status = res.ok ? 0 : res.status;
			e.code = 'stream_failed';
			self._fail(e);
		}, function () {
			if (gen !== self.gen)
				return;
			var e = new Error('server unreachable');
			e.status = 0;
			e.code = 'network';
			self._fail(e);
		});
	};

	/* -- long-poll -- */

	Engine.prototype._poll = function () {
		var self = this;
		var gen = this.gen;
		var id = this.sink.lastId();
		/* Until a poll has answered, ask for an answer at once: that is
		 * what "connected" means for long-poll. */
		var wait = this.connected ? this.o.pollTimeout : 0;
		var url = this.o.base + '/poll?timeout=' + wait +
			(id !== null ? '&since=' + encodeURIComponent(id) : '');
		var ctl = typeof AbortController === 'function' ?
			new AbortController() : null;
		this.abort = ctl;
		/* A request that hangs past its timeout is a dead connection. */
		var guard = setTimeout(function () {
			if (ctl)
				ctl.abort();
		}, (wait + 15) * 1000);
		var t0 = Date.now();
		fetch(url, {
			credentials: 'same-origin', cache: 'no-store',
			headers: { Accept: 'application/json' },
			signal: ctl ? ctl.signal : undefined
		}).then(function (res) {
			return readJson(res).then(function (body) {
				if (!res.ok)
					throw httpError(res, body);
				if (!body || !Array.isArray(body.events)) {
					var e = new Error('malformed poll answer');
					e.status = res.status;
					e.code = 'bad_response';
					throw e;
				}
				return body;
			});
		}).then(function (body) {
			clearTimeout(guard);
			if (gen !== self.gen)
				return;
			self.abort = null;
			self._opened('polling');
			if (body.reset)
				self._event({ id: null, event: 'reset', data: {} });
			var i;
			for (i = 0; i < body.events.length && gen === self.gen; i++)
				self._event(body.events[i]);
			if (gen !== self.gen)
				return;
			self.sink.seen(toId(body.lastEventId));
			if (wait > 0 && !body.events.length &&
			    Date.now() - t0 < POLL_MIN_MS) {
				/* An empty answer that did not wait: something in
				 * between cuts polls short.  Do not spin. */
				self.timer = setTimeout(function () {
					self._connect();
				}, POLL_MIN_MS);
				return;
			}
			self._poll();
		}).catch(function (err) {
			clearTimeout(guard);
			if (gen !== self.gen)
				return;
			self.abort = null;
			if (!(err instanceof Error) || err.status === undefined) {
				var e = new Error(err && err.name === 'AbortError' ?
					'poll timed out' : 'server unreachable');
				e.status = 0;
				e.code = 'network';
				err = e;
			}
			self._fail(err);
		});
	};

	/* ---- Socket ---- */

	function Socket(opts) {
		this.o = opts;
		this.handlers = Object.create(null);
		this.anyHandlers = [];
		this.connected = false;
		this.disconnected = true;
		this.transport = null;
		this.role = null;       /* 'leader' | 'follower' | 'solo' */
		this.tabId = randomId();
		this.store = new Store('emitcgi:' + opts.base);
		var saved = this.store.get();
		this.lastEventId = saved.id;
		this.lastCount = saved.count;   /* {id, data} of the newest user count */
		this.ringFrom = this.lastEventId; /* ring holds every id > ringFrom */
		this.ring = [];
		this.pagehideHooked = false;
		this.engine = null;
		this.chan = null;
		this.lockAbort = null;
		this.releaseLock = null;
		this.lastError = null;
		this.shared = opts.share !== false &&
			typeof root.BroadcastChannel === 'function' &&
			!!(root.navigator && root.navigator.locks &&
			   root.navigator.locks.request);
		if (opts.autoConnect !== false)
			this.connect();
	}

	Socket.prototype.on = function (name, fn) {
		if (typeof fn !== 'function')
			throw new TypeError('emit.js: on(' + name + ') needs a function');
		(this.handlers[name] = this.handlers[name] || []).push(fn);
		this._subscribe(name);
		return this;
	};

	Socket.prototype.once = function (name, fn) {
		var self = this;
		function wrap() {
			self.off(name, wrap);
			fn.apply(this, arguments);
		}
		wrap.fn = fn;
		return this.on(name, wrap);
	};

	Socket.prototype.off = function (name, fn) {
		if (name === undefined) {
			this.handlers = Object.create(null);
			return this;
		}
		var l = this.handlers[name];
		if (!l)
			return this;
		if (fn === undefined) {
			delete this.handlers[name];
			return this;
		}
		var i;
		for (i = l.length - 1; i >= 0; i--) {
			if (l[i] === fn || l[i].fn === fn) {
				l.splice(i, 1);
				break;
			}
		}
		if (!l.length)
			delete this.handlers[name];
		return this;
	};

	/* Every server event: fn(eventName, data). */
	Socket.prototype.onAny = function (fn) {
		this.anyHandlers.push(fn);
		return this;
	};

	Socket.prototype.offAny = function (fn) {
		if (fn === undefined)
			this.anyHandlers = [];
		else
			this.anyHandlers = this.anyHandlers.filter(
				function (h) { return h !== fn; });
		return this;
	};

	Socket.prototype.listeners = function (name) {
		return (this.handlers[name] || []).slice();
	};

	Socket.prototype._fire = function (name, args) {
		var l = this.handlers[name];
		var i;
		if (!l)
			return;
		l = l.slice();
		for (i = 0; i < l.length; i++)
			callSafe(l[i], this, args);
	};

	/*
	 * emit(event, data) -> Promise of {id}: POST BASE/emit {event, data}.
	 * The server delivers it to everyone as `event` with
	 * {username, message: data}.  Rejects with an Error with .status and
	 * .code (the server's "error") on refusal.
	 */
	Socket.prototype.emit = function (event, data) {
		var base = this.o.base;
		if (typeof event !== 'string' || !event.length) {
			return Promise.reject(
				new TypeError('emit.js: emit() needs an event name'));
		}
		var body = JSON.stringify({
			event: event, data: data === undefined ? null : data
		});
		return fetch(base + '/emit', {
			method: 'POST', credentials: 'same-origin', cache: 'no-store',
			headers: {
				'Content-Type': 'application/json',
				Accept: 'application/json'
			},
			body: body
		}).then(function (res) {
			return readJson(res).then(function (b) {
				if (!res.ok)
					throw httpError(res, b);
				return b;
			});
		}, function () {
			var e = new Error('server unreachable');
			e.status = 0;
			e.code = 'network';
			throw e;
		});
	};

	Socket.prototype.connect = function () {
		this.lastError = null;
		if (!this.disconnected) {
			/* Already on: a retry after a 401 (the app logged in). */
			if (this.role === 'follower')
				this._post({ t: 'connect' });
			else if (this.engine)
				this.engine.start();
			return this;
		}
		this.disconnected = false;
		if (!this.shared) {
			this.role = 'solo';
			this._startEngine();
			return this;
		}
		this.role = 'follower';
		this._openChannel();
		this._requestLock();
		this._post({
			t: 'hello', from: this.tabId, since: this.lastEventId,
			names: Object.keys(this.handlers)
		});
		return this;
	};
	Socket.prototype.open = Socket.prototype.connect;

	Socket.prototype.disconnect = function () {
		if (this.disconnected)
			return this;
		this.disconnected = true;
		if (this.engine) {
			var e = this.engine;
			this.engine = null;
			e.stop('io client disconnect');
		}
		if (this.role === 'leader')
			this._post({ t: 'bye' });
		if (this.lockAbort)
			this.lockAbort.abort();
		if (this.releaseLock)
			this.releaseLock();
		this.lockAbort = this.releaseLock = null;
		if (this.chan) {
			this.chan.close();
			this.chan = null;
		}
		this.role = null;
		this._setState(false, null, 'io client disconnect');
		return this;
	};
	Socket.prototype.close = Socket.prototype.disconnect;

	/* -- delivery -- */

	Socket.prototype._deliver = function (ev) {
		var id = toId(ev.id);
		if (ev.event === 'reset') {
			this.lastEventId = null;
			this.lastCount = null;
			this.ringFrom = null;
			this.ring = [];
			this.store.set(null, null);
			this._dispatch('reset', ev.data || {});
			return;
		}
		if (ev.snap && ev.event === 'user count' && id !== null &&
		    this.lastEventId !== null && id <= this.lastEventId) {
			/* A snapshot relayed by the leader to a tab that joined
			 * without an id but already took a live event as its
			 * baseline: it still needs the count, unless it saw a newer
			 * one. */
			if (this.lastCount && this.lastCount.id !== null &&
			    this.lastCount.id >= id)
				return;
			this.lastCount = { id: id, data: ev.data };
			this.store.set(this.lastEventId, this.lastCount);
			this._dispatch(ev.event, ev.data);
			return;
		}
		if (id !== null && this.lastEventId !== null &&
		    id <= this.lastEventId)
			return; /* seen already */
		if (ev.event === 'user count')
			this.lastCount = { id: id, data: ev.data };
		if (id !== null) {
			if (this.lastEventId === null) {
				/* A snapshot: nothing before this id is known here. */
				this.ringFrom = id;
				this.ring = [];
			} else {
				this.ring.push({ id: id, event: ev.event, data: ev.data });
				if (this.ring.length > RING_MAX)
					this.ringFrom = this.ring.shift().id;
			}
			this.lastEventId = id;
			this.store.set(id, this.lastCount);
		}
		this._dispatch(ev.event, ev.data);
	};

	Socket.prototype._dispatch = function (name, data) {
		var i, any = this.anyHandlers.slice();
		for (i = 0; i < any.length; i++)
			callSafe(any[i], this, [name, data]);
		this._fire(name, [data]);
	};

	/* A poll answer's lastEventId: every event up to it has been delivered,
	 * so the ring stays exact. */
	Socket.prototype._seen = function (id) {
		if (id === null || this.lastEventId === null ||
		    id <= this.lastEventId)
			return;
		this.lastEventId = id;
		this.store.set(id, this.lastCount);
	};

	Socket.prototype._setState = function (connected, transport, reason) {
		var was = this.connected;
		this.connected = connected;
		this.transport = connected ? transport : null;
		if (connected && !was) {
			this.lastError = null;
			this._fire('connect', []);
		} else if (!connected && was) {
			this._fire('disconnect', [reason]);
		}
	};

	Socket.prototype._subscribe = function (name) {
		if (LOCAL_EVENTS[name])
			return;
		if (this.engine)
			this.engine.addName(name);
		else if (this.role === 'follower')
			this._post({ t: 'names', names: [name] });
	};

	/* -- engine (solo or leader) -- */

	Socket.prototype._startEngine = function () {
		var self = this;
		var lead = function (m) {
			if (self.role === 'leader')
				self._post(m);
		};
		var e = new Engine(this.o, {
			lastId: function () { return self.lastEventId; },
			event: function (ev) {
				lead({ t: 'ev', ev: ev });
				self._deliver(ev);
			},
			seen: function (id) {
				lead({ t: 'seen', id: id });
				self._seen(id);
			},
			opened: function (transport) {
				lead({ t: 'state', connected: true, transport: transport });
				self._setState(true, transport);
			},
			closed: function (reason) {
				lead({ t: 'state', connected: false, reason: reason });
				self._setState(false, null, reason);
			},
			error: function (err, fatal) {
				var m = {
					message: err.message, status: err.status,
					code: err.code, fatal: fatal
				};
				lead({ t: 'error', err: m });
				self._error(m);
			},
			attempt: function (n, delay) {
				lead({ t: 'attempt', n: n, delay: delay });
				self._fire('reconnect_attempt', [n, delay]);
			}
		});
		this.engine = e;
		var name;
		for (name in this.handlers)
			e.addName(name);
		if (!this.onlineHooked && root.addEventListener) {
			this.onlineHooked = true;
			root.addEventListener('online', function () {
				if (self.engine)
					self.engine.nudge();
			});
		}
		e.start();
	};

	Socket.prototype._error = function (m) {
		var err = new Error(m.message);
		err.status = m.status;
		err.code = m.code;
		err.fatal = !!m.fatal;
		/* socket.io puts details in err.data */
		err.data = { status: m.status, code: m.code };
		this.lastError = err;
		this._fire('connect_error', [err]);
	};

	/* -- sharing between tabs -- */

	Socket.prototype._openChannel = function () {
		var self = this;
		this.chan = new root.BroadcastChannel('emitcgi:' + this.o.base);
		this.chan.onmessage = function (e) {
			self._onMessage(e.data || {});
		};
		if (this.pagehideHooked)
			return;
		this.pagehideHooked = true;
		root.addEventListener('pagehide', function () {
			if (self.role === 'leader')
				self._post({ t: 'bye' });
		});
	};

	Socket.prototype._post = function (m) {
		if (this.chan) {
			try {
				this.chan.postMessage(m);
			} catch (e) { /* closed channel */ }
		}
	};

	Socket.prototype._requestLock = function () {
		var self = this;
		var ctl = typeof AbortController === 'function' ?
			new AbortController() : null;
		this.lockAbort = ctl;
		root.navigator.locks.request('emitcgi-leader:' + this.o.base,
			ctl ? { signal: ctl.signal } : {},
			function () {
				if (self.disconnected || self.lockAbort !== ctl)
					return null; /* released at once */
				return new Promise(function (release) {
					self.releaseLock = release;
					self._becomeLeader();
				});
			}).catch(function () { /* aborted by disconnect() */ });
	};

	Socket.prototype._becomeLeader = function () {
		this.role = 'leader';
		/* "connected" came from the old leader; the engine decides now. */
		this._setState(false, null, 'transport close');
		this._post({ t: 'leader', from: this.tabId });
		this._startEngine();
	};

	Socket.prototype._onMessage = function (m) {
		var self = this;
		if (this.disconnected)
			return;
		if (this.role === 'leader') {
			switch (m.t) {
			case 'hello':
				(m.names || []).forEach(function (n) {
					if (self.engine)
						self.engine.addName(n);
				});
				this._post(this._stateMessage(m.from));
				this._replay(m.from, toId(m.since));
				break;
			case 'names':
				(m.names || []).forEach(function (n) {
					if (self.engine)
						self.engine.addName(n);
				});
				break;
			case 'connect':
				if (this.engine)
					this.engine.start();
				break;
			}
			return;
		}
		/* follower */
		switch (m.t) {
		case 'leader':
			/* A new leader: tell it what this tab has and wants. */
			this._post({
				t: 'hello', from: this.tabId, since: this.lastEventId,
				names: Object.keys(this.handlers)
			});
			break;
		case 'bye':
			this._setState(false, null, 'transport close');
			break;
		case 'ev':
			this._deliver(m.ev);
			break;
		case 'seen':
			this._seen(toId(m.id));
			break;
		case 'replay':
			if (m.to !== this.tabId)
				break;
			if (m.reset)
				this._deliver({ id: null, event: 'reset', data: {} });
			(m.events || []).forEach(function (ev) {
				self._deliver(ev);
			});
			break;
		case 'state':
			if (m.to && m.to !== this.tabId)
				break;
			this._setState(!!m.connected, m.transport,
				m.reason || 'transport close');
			if (m.to && m.err && !m.connected)
				this._error(m.err);
			break;
		case 'error':
			this._error(m.err);
			break;
		case 'attempt':
			this._fire('reconnect_attempt', [m.n, m.delay]);
			break;
		}
	};

	Socket.prototype._stateMessage = function (to) {
		return {
			t: 'state', to: to, connected: this.connected,
			transport: this.transport,
			err: this.lastError ? {
				message: this.lastError.message,
				status: this.lastError.status,
				code: this.lastError.code,
				fatal: this.lastError.fatal
			} : null
		};
	};

	/* What a follower that has `since` missed: ring events, or a reset and
	 * the snapshot, or (since === null) the snapshot. */
	Socket.prototype._replay = function (to, since) {
		var snap = this.lastCount && this.lastEventId !== null ?
			[{ id: this.lastEventId, event: 'user count',
			   data: this.lastCount.data, snap: true }] : [];
		var m = { t: 'replay', to: to, reset: false, events: [] };
		if (since === null) {
			m.events = snap;
		} else if (this.lastEventId === null || since >= this.lastEventId) {
			return;
		} else if (this.ringFrom !== null && since >= this.ringFrom) {
			m.events = this.ring.filter(function (ev) {
				return ev.id > since;
			});
		} else {
			m.reset = true;
			m.events = snap;
		}
		if (m.events.length || m.reset)
			this._post(m);
	};

	/* ---- entry point ---- */

	function io(opts) {
		if (typeof opts === 'string')
			opts = { base: opts };
		var o = extend({
			base: defaultBase(),
			autoConnect: true,
			transports: ['sse', 'polling'],
			share: true,
			sseOpenTimeout: 5000,
			pollTimeout: 25,
			reconnectionDelay: 1000,
			reconnectionDelayMax: 30000,
			randomizationFactor: 0.5
		}, opts || {});
		o.base = String(o.base).replace(/\/+$/, '');
		return new Socket(o);
	}

	io.version = VERSION;
	io.Socket = Socket;
	root.io = io;
	if (typeof module === 'object' && module.exports)
		module.exports = io;
}(typeof self !== 'undefined' ? self : this));
