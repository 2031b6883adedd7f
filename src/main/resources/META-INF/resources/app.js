// Qwen All-in-One chat page: talks to the WebSocket /chat, shows a badge per chosen analysis (sentiment by default),
// then the streamed reply, rendered as Markdown.
// User text and every label is inserted with textContent. The model's reply is Markdown: marked turns it into HTML
// (raw HTML in it is escaped, images become their alt text), then DOMPurify keeps only the elements Markdown makes
// and only http(s)/mailto links; nothing the model writes can run script. Nothing else is ever inserted as HTML.
// Conversations are kept in this browser as data (localStorage), rendered from it; the tab's current conversation id
// is in sessionStorage, so two tabs can hold two conversations.
(() => {
  "use strict";

  const TEXT = {
    zh: {
      tagline: "一个模型，多种技能：情感、意图、关键词、摘要、翻译 + 温暖对话",
      inputLabel: "输入消息",
      placeholder: "说点什么…（Enter 发送，Shift+Enter 换行）",
      send: "发送", stop: "停止",
      POSITIVE: "😄 LLM 情感判断: 正面", NEGATIVE: "😞 LLM 情感判断: 负面",
      loading: "模型加载中…", downloading: "正在下载模型：{p}%，{r} MB/s，约剩 {s} 秒", ready: "模型已就绪", error: "模型不可用", offline: "服务不可达",
      reconnecting: "连接已断开，正在重连…", reconnected: "已重新连接，对话继续（之前 {n} 轮）。",
      resumed: "继续本标签页的对话（之前 {n} 轮）。",
      forgotten: "服务已不再保存这段对话（超过 24 小时）：记录还在，但模型从头开始。",
      stopped: "（已停止）", errorPrefix: "出错了：", queued: "排队中：第 {n} 位", pending: "等待连接，连上后发送…",
      interrupted: "（回复中断）",
      tasksLegend: "回复前的分析",
      task: { sentiment: "情感", intent: "意图", keywords: "关键词", summary: "摘要", translate: "翻译", extract: "信息提取" },
      param: { language: "目标语言" },
      value: { inquiry: "咨询", complaint: "投诉", chitchat: "闲聊", other: "其他" },
      connection: { connected: "● 已连接", connecting: "◌ 连接中…", offline: "○ 未连接，正在重试" },
      conversations: "对话列表", conversationsLabel: "保存在本浏览器的对话", newConversation: "＋ 新对话",
      untitled: "（空对话）", deleteConversation: "删除对话：{t}", current: "当前",
      copy: "复制", copied: "已复制", copyFailed: "复制失败", copyLabel: "复制这条回复",
      theme: { system: "🌓 跟随系统", dark: "🌙 深色", light: "☀️ 浅色" }, themeLabel: "配色：{t}（点击切换）",
      replying: "正在回复…",
    },
    en: {
      tagline: "One model, many skills: sentiment, intent, keywords, summary, translation + warm chat",
      inputLabel: "Your message",
      placeholder: "Say something… (Enter to send, Shift+Enter for a new line)",
      send: "Send", stop: "Stop",
      POSITIVE: "😄 LLM sentiment: positive", NEGATIVE: "😞 LLM sentiment: negative",
      loading: "Model loading…", downloading: "Downloading the model: {p}%, {r} MB/s, about {s} s left", ready: "Model ready", error: "Model unavailable", offline: "Service unreachable",
      reconnecting: "Connection lost, reconnecting…",
      reconnected: "Reconnected: the conversation goes on ({n} earlier turns).",
      resumed: "Continuing this tab's conversation ({n} earlier turns).",
      forgotten: "The service no longer holds this conversation (over 24 h): the transcript stays, the model starts afresh.",
      stopped: "(stopped)", errorPrefix: "Error: ", queued: "Waiting for the model: place {n}",
      pending: "Not connected yet: sending once connected…", interrupted: "(reply interrupted)",
      tasksLegend: "Analyses before the reply",
      task: { sentiment: "sentiment", intent: "intent", keywords: "keywords", summary: "summary", translate: "translate", extract: "extract" },
      param: { language: "target language" },
      value: { inquiry: "inquiry", complaint: "complaint", chitchat: "chit-chat", other: "other" },
      connection: { connected: "● Connected", connecting: "◌ Connecting…", offline: "○ Offline, retrying" },
      conversations: "Conversations", conversationsLabel: "Conversations kept in this browser", newConversation: "+ New conversation",
      untitled: "(empty)", deleteConversation: "Delete conversation: {t}", current: "current",
      copy: "Copy", copied: "Copied", copyFailed: "Copy failed", copyLabel: "Copy this reply",
      theme: { system: "🌓 System", dark: "🌙 Dark", light: "☀️ Light" }, themeLabel: "Colours: {t} (click to switch)",
      replying: "Replying…",
    },
  };

  const $ = (id) => document.getElementById(id);
  const transcript = $("transcript"), input = $("input"), sendButton = $("send"), stopButton = $("stop");
  const statusLine = $("status"), notice = $("notice"), langButton = $("lang"), composer = $("composer");
  const taskPicker = $("tasks"), connectionLine = $("connection"), live = $("live"), themeButton = $("theme");
  const historyButton = $("history"), historyPanel = $("conversations"), historyList = $("conversation-list");
  const newButton = $("new-conversation");

  let lang = localStorage.getItem("allinone.lang") === "en" ? "en" : "zh";
  // One conversation per tab, kept across reloads and reconnects (sessionStorage is per tab): the service continues it
  // from its store, whichever replica the proxy picks by the id; this browser keeps its transcript (localStorage).
  let conversationId = sessionStorage.getItem("allinone.conversation") || newConversationId();
  sessionStorage.setItem("allinone.conversation", conversationId);
  let socket = null, current = null, retryDelay = 500, everConnected = false, statusKey = "loading", statusDetail = "", download = null;
  let connectionState = "connecting", retryTimer = null, renderScheduled = false;

  const t = (key) => TEXT[lang][key];

  // ---- Stored conversations: an index [{id, title, updated}] and, per id, {turns: [...]} -------------------------
  // A turn is data: {user, badges: [{label, score} | {analysis: frame}], reply (Markdown), finish, error}.
  const INDEX_KEY = "allinone.conversations";
  const MAX_CONVERSATIONS = 50;
  const turnsKey = (id) => "allinone.conversation." + id;

  function readJson(storage, key, fallback) {
    try {
      const value = JSON.parse(storage.getItem(key));
      return value == null ? fallback : value;
    } catch (e) {
      return fallback;
    }
  }

  function writeJson(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch (e) { // full or disabled: the page still works, the transcript is just not kept
      console.warn("not stored", key, e);
      return false;
    }
  }

  const readIndex = () => readJson(localStorage, INDEX_KEY, []).filter((c) => c && typeof c.id === "string");
  let conversation = loadConversation(conversationId);

  function loadConversation(id) {
    const stored = readJson(localStorage, turnsKey(id), null);
    const turns = stored && Array.isArray(stored.turns) ? stored.turns : [];
    // A turn that was streaming when the page went away cannot resume: it is shown as interrupted.
    turns.forEach((turn) => { if (!turn.finish && !turn.error) turn.finish = "interrupted"; });
    return { id, turns };
  }

  // Stores the transcript; with touch, also moves the conversation to the top of the index (a turn began or ended).
  function saveConversation(touch) {
    if (conversation.turns.length === 0) return;
    writeJson(turnsKey(conversation.id), { turns: conversation.turns });
    if (!touch) return;
    const index = readIndex().filter((c) => c.id !== conversation.id);
    const first = conversation.turns[0].user;
    index.unshift({ id: conversation.id, title: first.length > 40 ? first.slice(0, 40) + "…" : first, updated: Date.now() });
    for (const dropped of index.splice(MAX_CONVERSATIONS)) localStorage.removeItem(turnsKey(dropped.id));
    writeJson(INDEX_KEY, index);
    renderHistory();
  }

  function deleteConversation(id) {
    localStorage.removeItem(turnsKey(id));
    writeJson(INDEX_KEY, readIndex().filter((c) => c.id !== id));
    if (id === conversationId) switchTo(newConversationId());
    else renderHistory();
  }

  function switchTo(id) {
    if (current) abandonTurn();
    conversationId = id;
    sessionStorage.setItem("allinone.conversation", id);
    conversation = loadConversation(id);
    renderTranscript();
    renderHistory();
    everConnected = false;
    reconnectNow();
    input.focus();
  }

  function renderHistory() {
    historyList.replaceChildren();
    for (const c of readIndex()) {
      const item = document.createElement("li");
      item.dataset.id = c.id;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = c.title || t("untitled");
      const when = document.createElement("time");
      when.dateTime = new Date(c.updated).toISOString();
      when.textContent = new Date(c.updated).toLocaleString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "short", timeStyle: "short" });
      open.append(title, when);
      if (c.id === conversationId) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => {
        showHistory(false);
        if (c.id !== conversationId) switchTo(c.id);
      });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete";
      remove.textContent = "×";
      remove.ariaLabel = remove.title = t("deleteConversation").replace("{t}", c.title || t("untitled"));
      remove.addEventListener("click", () => deleteConversation(c.id));
      item.append(open, remove);
      historyList.appendChild(item);
    }
  }

  function showHistory(show) {
    historyPanel.hidden = !show;
    historyButton.setAttribute("aria-expanded", String(show));
  }

  // ---- Markdown: marked, then DOMPurify ---------------------------------------------------------------------------
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const canRender = typeof window.marked === "object" && typeof window.DOMPurify === "function" && window.DOMPurify.isSupported;
  const PURIFY = {
    ALLOWED_TAGS: ["p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
      "h4", "h5", "h6", "hr", "a", "table", "thead", "tbody", "tr", "th", "td"],
    ALLOWED_ATTR: ["href", "title", "align", "start"],
    // Every attribute value is checked against this (DOMPurify's default, with fewer schemes): no javascript:, no
    // data:; links are further limited to http(s) and mailto by the hook below (no relative ones).
    ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.\-]+(?:[^a-z+.\-:]|$))/i,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  };
  let markdown = null;
  if (canRender) {
    markdown = new window.marked.Marked({ gfm: true, breaks: true, async: false });
    markdown.use({
      renderer: {
        // Raw HTML the model writes is shown as the text it is; an image is shown as its alt text.
        html: (token) => (token.block ? "<p>" + escapeHtml(token.text) + "</p>" : escapeHtml(token.text)),
        image: (token) => escapeHtml(token.text || ""),
      },
    });
    window.DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
      if (data.attrName === "href" && !/^(?:https?:|mailto:)/i.test(data.attrValue.replace(/[\s\u0000-\u001f]/g, ""))) {
        data.keepAttr = false;
      }
    });
    window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
  }

  function renderMarkdown(el, text) {
    if (!canRender) {
      el.textContent = text;
      return;
    }
    el.replaceChildren(window.DOMPurify.sanitize(markdown.parse(text), PURIFY));
  }

  // ---- Labels -----------------------------------------------------------------------------------------------------
  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll("[data-i18n-label]").forEach((el) => { el.ariaLabel = t(el.dataset.i18nLabel); });
    document.querySelectorAll(".badge[data-label]").forEach((el) => { el.textContent = badgeText(el.dataset.label, el.dataset.score); });
    document.querySelectorAll(".badge[data-analysis]").forEach((el) => { el.textContent = analysisText(JSON.parse(el.dataset.analysis)); });
    document.querySelectorAll("#tasks label[data-task] .name").forEach((el) => { el.textContent = taskName(el.parentElement.dataset.task); });
    document.querySelectorAll("#tasks input[data-param]").forEach((el) => { el.placeholder = el.ariaLabel = paramName(el.dataset.param); });
    langButton.textContent = lang === "zh" ? "EN" : "中文";
    renderStatus();
    renderConnection();
    renderTheme();
    renderHistory();
  }

  function badgeText(label, score) {
    return `${t(label)} (${Math.round(Number(score) * 100)}%)`;
  }

  const taskName = (task) => t("task")[task] || task;
  const paramName = (param) => t("param")[param] || param;

  // A task's answer as one line: its name, then a label (with its probability), a text, phrases, or a JSON object's
  // fields (key: value, the empty ones left out).
  function analysisText(a) {
    const answer = a.label != null ? `${t("value")[a.label] || a.label} (${Math.round(a.score * 100)}%)`
      : a.phrases ? a.phrases.join(" · ")
      : a.json != null ? Object.entries(a.json).filter(([, v]) => v != null).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ")
      : a.text;
    return `${taskName(a.task)}: ${answer}`;
  }

  // ---- Theme: the system's by default (CSS prefers-color-scheme), or one chosen here -------------------------------
  const THEMES = ["system", "dark", "light"];
  let theme = THEMES.includes(localStorage.getItem("allinone.theme")) ? localStorage.getItem("allinone.theme") : "system";

  function renderTheme() {
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    themeButton.textContent = t("theme")[theme];
    themeButton.ariaLabel = t("themeLabel").replace("{t}", t("theme")[theme]);
  }

  themeButton.addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    if (theme === "system") localStorage.removeItem("allinone.theme");
    else localStorage.setItem("allinone.theme", theme);
    renderTheme();
  });

  // ---- Tasks ------------------------------------------------------------------------------------------------------
  // The tasks a message may ask for, from GET /api/tasks, each with a field per parameter; remembered across visits.
  async function loadTasks() {
    let tasks;
    try {
      const response = await fetch("/api/tasks", { headers: apiKeyHeader() });
      if (!response.ok) return;
      tasks = await response.json();
    } catch (e) {
      return;
    }
    const saved = JSON.parse(localStorage.getItem("allinone.tasks") || '["sentiment"]');
    for (const task of tasks) {
      const label = document.createElement("label");
      label.dataset.task = task.name;
      label.title = task.description;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = task.name;
      box.checked = saved.includes(task.name);
      box.addEventListener("change", () => localStorage.setItem("allinone.tasks", JSON.stringify(chosenTasks())));
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = taskName(task.name);
      label.append(box, name);
      for (const param of task.parameters || []) {
        const field = document.createElement("input");
        field.type = "text";
        field.size = 8;
        field.dataset.param = param;
        field.value = localStorage.getItem("allinone.param." + param) || (param === "language" ? "English" : "");
        field.placeholder = field.ariaLabel = paramName(param);
        field.addEventListener("change", () => localStorage.setItem("allinone.param." + param, field.value));
        label.append(field);
      }
      taskPicker.appendChild(label);
    }
    taskPicker.hidden = tasks.length === 0;
  }

  const chosenTasks = () => [...taskPicker.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);

  // The parameters of the chosen tasks, e.g. {"language":"English"} when translate is chosen.
  function chosenParams() {
    const params = {};
    taskPicker.querySelectorAll("input[type=checkbox]:checked").forEach((box) => {
      box.parentElement.querySelectorAll("input[data-param]").forEach((field) => { params[field.dataset.param] = field.value; });
    });
    return params;
  }

  function apiKeyHeader() {
    const key = new URLSearchParams(location.hash.slice(1)).get("key");
    return key ? { Authorization: "Bearer " + key } : {};
  }

  // ---- Status lines -----------------------------------------------------------------------------------------------
  function renderStatus() {
    let text = t(statusKey);
    if (download) {
      const known = (v) => (v >= 0 ? v : "?");
      text = text.replace("{p}", known(download.downloadPercent))
        .replace("{r}", (download.downloadBytesPerSecond / 1e6).toFixed(1)).replace("{s}", known(download.downloadSecondsLeft));
    }
    statusLine.textContent = text + (statusDetail ? ` — ${statusDetail}` : "");
    statusLine.className = "status " + (statusKey === "ready" ? "ready" : statusKey === "loading" || statusKey === "downloading" ? "loading" : "error");
  }

  function renderConnection() {
    connectionLine.textContent = t("connection")[connectionState];
    connectionLine.className = "status connection " + connectionState;
    connectionLine.dataset.state = connectionState;
  }

  function setConnection(state) {
    connectionState = state;
    renderConnection();
  }

  async function pollHealth() {
    try {
      const response = await fetch("/q/health/ready", { cache: "no-store" });
      const body = await response.json();
      const model = (body.checks || []).find((c) => c.name === "model");
      const state = model && model.data ? model.data.state : null;
      statusKey = response.ok ? "ready" : state === "LOADING" ? "loading" : state === "DOWNLOADING" ? "downloading" : "error";
      statusDetail = !response.ok && statusKey === "error" && model && model.data ? (model.data.reason || "") : "";
      download = statusKey === "downloading" ? model.data : null;
    } catch (e) {
      statusKey = "offline";
      statusDetail = "";
      download = null;
    }
    renderStatus();
    setTimeout(pollHealth, statusKey === "ready" ? 10000 : 2000);
  }

  // ---- The transcript, rendered from the data ---------------------------------------------------------------------
  function scrollDown() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  function add(parent, className, text) {
    const el = document.createElement("div");
    el.className = className;
    el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  function badgeView(badge) {
    const el = document.createElement("div");
    if (badge.analysis) {
      el.className = "badge analysis";
      el.textContent = analysisText(badge.analysis);
      el.dataset.analysis = JSON.stringify(badge.analysis);
    } else {
      el.className = "badge " + (badge.label === "NEGATIVE" ? "NEGATIVE" : "POSITIVE");
      el.textContent = badgeText(badge.label, badge.score);
      el.dataset.label = badge.label;
      el.dataset.score = badge.score;
    }
    return el;
  }

  // A turn's view: {section, badges, reply}; the reply element is there from the start (empty, "typing") while
  // the turn runs, and holds the Markdown once rendered.
  function turnView(turn) {
    const section = document.createElement("section");
    section.className = "turn";
    add(section, "msg user", turn.user);
    const view = { section, queued: null, reply: null };
    turn.badges.forEach((b) => section.appendChild(badgeView(b)));
    if (turn.reply || !turn.finish && !turn.error) {
      view.reply = add(section, "msg assistant", "");
      if (turn.reply) renderMarkdown(view.reply, turn.reply);
      if (!turn.finish && !turn.error) {
        view.reply.classList.add("typing");
        view.reply.setAttribute("aria-busy", "true");
      }
    }
    finishView(view, turn);
    return view;
  }

  // What a finished turn shows after its reply: stopped / interrupted, the error, the copy button.
  function finishView(view, turn) {
    if (view.reply && (turn.finish || turn.error)) {
      view.reply.classList.remove("typing");
      view.reply.removeAttribute("aria-busy");
      if (!turn.reply) {
        view.reply.remove();
        view.reply = null;
      }
    }
    if (turn.finish === "cancelled") add(view.section, "stopped", t("stopped"));
    if (turn.finish === "interrupted") add(view.section, "stopped", t("interrupted"));
    if (turn.error) add(view.section, "msg error", t("errorPrefix") + turn.error);
    if (turn.reply && turn.finish) {
      const tools = add(view.section, "reply-tools", "");
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "copy";
      copy.dataset.i18n = "copy";
      copy.dataset.i18nLabel = "copyLabel";
      copy.textContent = t("copy");
      copy.ariaLabel = t("copyLabel");
      copy.addEventListener("click", () => copyReply(copy, turn.reply));
      tools.appendChild(copy);
    }
  }

  function renderTranscript() {
    transcript.replaceChildren();
    for (const turn of conversation.turns) transcript.appendChild(turnView(turn).section);
    scrollDown();
  }

  async function copyReply(button, text) {
    let ok;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) { // no clipboard API here (e.g. plain http off localhost) or no permission: the old way
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch (e2) {
        ok = false;
      }
      area.remove();
      button.focus();
    }
    button.textContent = t(ok ? "copied" : "copyFailed");
    button.dataset.copied = String(ok);
    setTimeout(() => { button.textContent = t("copy"); }, 2000);
  }

  // ---- The running turn -------------------------------------------------------------------------------------------
  function setStreaming(streaming) {
    sendButton.disabled = streaming;
    stopButton.hidden = !streaming;
  }

  // The reply's Markdown is rendered at most once per animation frame while it streams (and stored with it).
  function scheduleRender() {
    if (renderScheduled) return;
    renderScheduled = true;
    requestAnimationFrame(flushRender);
  }

  function flushRender() {
    renderScheduled = false;
    if (!current || !current.view.reply) return;
    renderMarkdown(current.view.reply, current.turn.reply);
    saveConversation(false);
    scrollDown();
  }

  function finishTurn(finish, error) {
    const { turn, view } = current;
    if (view.queued) view.queued.remove();
    turn.finish = finish || (error ? null : "stop");
    if (error) turn.error = error;
    if (view.reply && turn.reply) renderMarkdown(view.reply, turn.reply);
    finishView(view, turn);
    if (turn.reply) live.textContent = view.reply.innerText.trim();
    current = null;
    saveConversation(true);
    setStreaming(false);
    scrollDown();
    input.focus();
  }

  // The turn running when the tab switches conversation: closing the socket stops it on the server.
  function abandonTurn() {
    finishTurn("cancelled");
  }

  function newConversationId() {
    // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function onConversation(frame) {
    if (frame.turns === 0 && conversation.turns.some((turn) => turn.reply)) {
      // The transcript is here, but the service no longer holds the conversation (kept 24 h): the model starts afresh.
      notice.textContent = t("forgotten");
    } else if (everConnected) {
      notice.textContent = t("reconnected").replace("{n}", frame.turns);
    } else if (frame.turns > 0) {
      notice.textContent = t("resumed").replace("{n}", frame.turns);
    } else {
      return;
    }
    notice.hidden = false;
    setTimeout(() => { notice.hidden = true; }, 4000);
  }

  function showQueued(text) {
    const { view } = current;
    if (!view.queued) {
      view.queued = document.createElement("div");
      view.queued.className = "queued";
      view.section.insertBefore(view.queued, view.reply);
    }
    view.queued.textContent = text;
  }

  function onFrame(frame) {
    if (frame.type === "conversation") {
      onConversation(frame);
      return;
    }
    if (!current || !current.sent) {
      if (frame.type === "error") add(transcript, "msg error", t("errorPrefix") + frame.message);
      return;
    }
    const { turn, view } = current;
    if (frame.type !== "queued" && view.queued) {
      view.queued.remove();
      view.queued = null;
    }
    switch (frame.type) {
      case "queued":
        showQueued(t("queued").replace("{n}", frame.position));
        break;
      case "sentiment":
      case "analysis": {
        const badge = frame.type === "sentiment" ? { label: frame.label, score: frame.score } : { analysis: frame };
        turn.badges.push(badge);
        view.section.insertBefore(badgeView(badge), view.reply);
        saveConversation(false);
        break;
      }
      case "token":
        turn.reply += frame.text;
        if (turn.reply === frame.text) live.textContent = t("replying");
        scheduleRender();
        break;
      case "done":
        finishTurn(frame.finish);
        break;
      case "error":
        finishTurn(null, frame.message);
        break;
    }
  }

  // ---- The socket -------------------------------------------------------------------------------------------------
  function connect() {
    retryTimer = null;
    setConnection("connecting");
    // With an API key set on the service, open the page as /#key=<key>: browsers cannot add headers to a WebSocket.
    const key = new URLSearchParams(location.hash.slice(1)).get("key");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat"
        + "?conversation=" + encodeURIComponent(conversationId) + (key ? "&api_key=" + encodeURIComponent(key) : "");
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      if (ws !== socket) return;
      retryDelay = 500;
      notice.hidden = true;
      setConnection("connected");
      if (current && !current.sent) transmit(); // typed before the socket was open
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      try {
        onFrame(JSON.parse(event.data));
      } catch (e) {
        console.error("bad frame", event.data, e);
      }
      if (!everConnected) everConnected = true;
    };
    ws.onclose = () => {
      if (ws !== socket) return; // a socket this tab replaced (another conversation)
      if (current && current.sent) finishTurn(null, t("reconnecting"));
      setConnection("offline");
      if (everConnected) {
        notice.textContent = t("reconnecting");
        notice.hidden = false;
      }
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  function reconnectNow() {
    if (retryTimer) clearTimeout(retryTimer);
    const old = socket;
    socket = null;
    if (old) old.close();
    retryDelay = 500;
    connect();
  }

  function transmit() {
    const params = chosenParams();
    const { turn } = current;
    socket.send(JSON.stringify(taskPicker.hidden ? { text: turn.user }
      : Object.keys(params).length ? { text: turn.user, tasks: chosenTasks(), params } : { text: turn.user, tasks: chosenTasks() }));
    current.sent = true;
    if (current.view.queued) {
      current.view.queued.remove();
      current.view.queued = null;
    }
  }

  function send() {
    const text = input.value;
    if (!text.trim() || current) return;
    const turn = { user: text, badges: [], reply: "", finish: null, error: null };
    conversation.turns.push(turn);
    const view = turnView(turn);
    transcript.appendChild(view.section);
    current = { turn, view, sent: false };
    input.value = "";
    setStreaming(true);
    saveConversation(true);
    if (socket && socket.readyState === WebSocket.OPEN) transmit();
    else showQueued(t("pending"));
    scrollDown();
  }

  composer.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter is a newline; Enter that confirms an IME composition (Chinese input) is not a send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  stopButton.addEventListener("click", () => {
    if (current && !current.sent) finishTurn("cancelled");
    else if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  });
  langButton.addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("allinone.lang", lang);
    applyLanguage();
  });
  historyButton.addEventListener("click", () => showHistory(historyPanel.hidden));
  newButton.addEventListener("click", () => {
    showHistory(false);
    if (conversation.turns.length > 0) switchTo(newConversationId());
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !historyPanel.hidden) {
      showHistory(false);
      historyButton.focus();
    }
  });
  // Another tab of this browser saved a conversation: the list follows.
  window.addEventListener("storage", (e) => { if (e.key === INDEX_KEY) renderHistory(); });

  applyLanguage();
  renderTranscript();
  setStreaming(false);
  connect();
  pollHealth();
  loadTasks();
  input.focus();
})();
