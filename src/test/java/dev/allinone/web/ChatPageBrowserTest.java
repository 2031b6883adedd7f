package dev.allinone.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URL;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/** The page at / in Debian's headless Chromium, against the service running on the scripted checkpoint. */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class ChatPageBrowserTest {

    private static ChromeDriver browser;

    @TestHTTPResource("/")
    URL page;

    @BeforeAll
    static void startBrowser() throws Exception {
        browser = HeadlessChromium.start();
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    /** Each test starts on a new tab's page: nothing stored (conversations, choices), connected, the model ready. */
    @BeforeEach
    void openPage() {
        ReadyService.await();
        browser.get(page.toString());
        js("sessionStorage.clear(); localStorage.clear();");
        browser.navigate().refresh();
        waitUntilConnected();
    }

    private static void waitUntilConnected() {
        waitUntil(() -> browser.findElement(By.id("status")).getText().contains("已就绪")
                && "connected".equals(browser.findElement(By.id("connection")).getAttribute("data-state"))
                && browser.findElement(By.id("send")).isEnabled());
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) {
        HeadlessChromium.waitUntil(browser, condition);
    }

    private static Object js(String script, Object... args) {
        return HeadlessChromium.js(browser, script, args);
    }

    private static List<WebElement> turns() {
        return browser.findElements(By.cssSelector("#transcript .turn"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void badgeAppearsBeforeTheReplyWhichStreamsIn() throws Exception {
        js("""
                window.__events = [];
                new MutationObserver(() => {
                  const turn = document.querySelector('#transcript .turn:last-child');
                  if (!turn) return;
                  const reply = turn.querySelector('.msg.assistant:not(:empty)');
                  const e = { badge: !!turn.querySelector('.badge'), reply: reply ? reply.textContent.length : 0 };
                  const last = window.__events[window.__events.length - 1];
                  if (!last || last.badge !== e.badge || last.reply !== e.reply) window.__events.push(e);
                }).observe(document.getElementById('transcript'), { childList: true, subtree: true, characterData: true });
                """);
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys("刚拿到offer，超级开心！");
        input.sendKeys(Keys.ENTER);

        waitUntil(() -> browser.findElement(By.id("send")).isEnabled() && !turns().isEmpty()
                && !turns().getLast().findElements(By.cssSelector(".msg.assistant")).isEmpty()
                && !turns().getLast().findElement(By.cssSelector(".msg.assistant")).getAttribute("class").contains("typing"));

        WebElement turn = turns().getLast();
        assertEquals("刚拿到offer，超级开心！", turn.findElement(By.cssSelector(".msg.user")).getText());
        String badge = turn.findElement(By.cssSelector(".badge")).getText();
        assertTrue(badge.startsWith("😄 LLM 情感判断: 正面"), badge);
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, turn.findElement(By.cssSelector(".msg.assistant")).getText());

        List<Map<String, Object>> events = (List<Map<String, Object>>) js("return window.__events;");
        Map<String, Object> firstReply = events.stream().filter(e -> ((Number) e.get("reply")).intValue() > 0).findFirst().orElseThrow();
        assertEquals(Boolean.TRUE, firstReply.get("badge"), "badge before the first reply text: " + events);
        // At least one partial reply shown before the whole: the page renders once per animation frame, and on a
        // busy machine several tokens land in one frame (seen: lengths 4 and 13 only, with a build running beside).
        long growthSteps = events.stream().map(e -> ((Number) e.get("reply")).intValue()).filter(n -> n > 0).distinct().count();
        assertTrue(growthSteps >= 2, "the reply grows piece by piece: " + events);
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, js("return document.getElementById('live').textContent;"),
                "screen readers get the finished reply from the aria-live region");
        assertEquals("polite", browser.findElement(By.id("live")).getAttribute("aria-live"));
    }

    /** The analyses offered are the service's tasks; the chosen ones come back as badges before the reply. */
    @Test
    void chosenAnalysesAppearAsBadges() {
        waitUntil(() -> !browser.findElements(By.cssSelector("#tasks input[value=intent]")).isEmpty());
        List<String> offered = browser.findElements(By.cssSelector("#tasks input[type=checkbox]")).stream().map(e -> e.getAttribute("value")).toList();
        assertEquals(List.of("sentiment", "extract", "intent", "keywords", "summary", "translate"), offered);
        assertEquals("English", browser.findElement(By.cssSelector("#tasks input[data-param=language]")).getAttribute("value"));
        try {
            browser.findElement(By.cssSelector("#tasks input[value=sentiment]")).click();
            browser.findElement(By.cssSelector("#tasks input[value=intent]")).click();
            browser.findElement(By.cssSelector("#tasks input[value=keywords]")).click();
            browser.findElement(By.cssSelector("#tasks input[value=translate]")).click();
            WebElement input = browser.findElement(By.id("input"));
            input.sendKeys("快递三天了还没到，怎么回事？");
            input.sendKeys(Keys.ENTER);
            waitUntil(() -> browser.findElement(By.id("send")).isEnabled() && !turns().isEmpty()
                    && !turns().getLast().findElements(By.cssSelector(".msg.assistant:not(.typing)")).isEmpty());
            List<String> badges = turns().getLast().findElements(By.cssSelector(".badge")).stream().map(WebElement::getText).toList();
            assertEquals(3, badges.size(), badges.toString());
            assertTrue(badges.get(0).matches("意图: (咨询|投诉|闲聊|其他) \\(\\d+%\\)"), badges.get(0));
            assertEquals("关键词: 正面太棒了 · 恭喜你😄！", badges.get(1));
            assertEquals("翻译: " + TestCheckpoints.SCRIPTED_REPLY, badges.get(2), "translate ran with its language");
            browser.findElement(By.id("lang")).click();
            assertTrue(turns().getLast().findElement(By.cssSelector(".badge")).getText()
                    .matches("intent: (inquiry|complaint|chit-chat|other) \\(\\d+%\\)"));
            browser.findElement(By.id("lang")).click();
        } finally {
            js("localStorage.removeItem('allinone.tasks'); localStorage.removeItem('allinone.param.language');");
            browser.navigate().refresh();
        }
    }

    @Test
    void userTextAndModelTextAreShownLiterallyNeverAsHtml() {
        String attack = "<script>window.__xss=1</script><b>bold</b><img src=x onerror=\"window.__xss=2\">";
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys(attack);
        browser.findElement(By.id("send")).click();
        waitUntil(() -> !turns().isEmpty() && browser.findElement(By.id("send")).isEnabled());
        WebElement turn = turns().getLast();
        assertEquals(attack, turn.findElement(By.cssSelector(".msg.user")).getText());
        assertTrue(browser.findElements(By.cssSelector("#transcript b, #transcript img, #transcript script")).isEmpty());
        assertNull(js("return window.__xss;"));
    }

    @Test
    void shiftEnterInsertsANewlineInsteadOfSending() {
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys("第一行");
        input.sendKeys(Keys.chord(Keys.SHIFT, Keys.ENTER));
        input.sendKeys("第二行");
        assertEquals("第一行\n第二行", input.getAttribute("value"));
        assertTrue(turns().isEmpty());
    }

    @Test
    void languageSwitchesToEnglishAndBack() {
        browser.findElement(By.id("lang")).click();
        assertEquals("Send", browser.findElement(By.id("send")).getText());
        assertTrue(browser.findElement(By.id("status")).getText().contains("Model ready"));
        browser.findElement(By.id("lang")).click();
        assertEquals("发送", browser.findElement(By.id("send")).getText());
    }

    /** The page at a width (phone, desktop), opened anew. */
    private void atWidth(int width) {
        browser.manage().window().setSize(new Dimension(width, 860));
        openPage();
    }

    @AfterEach
    void phoneWidth() {
        browser.manage().window().setSize(new Dimension(412, 860));
        browser.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
    }

    private static String conversationId() {
        return (String) js("return sessionStorage.getItem('allinone.conversation');");
    }

    /** How many earlier turns the service holds for a conversation (and one more after this call). */
    private static String serverTurns(String id) {
        return io.restassured.RestAssured.given().contentType("application/json").header("X-Conversation-Id", id)
                .body("{\"text\":\"还有吗\"}").post("/api/chat").then().statusCode(200).extract().header("X-Conversation-Turns");
    }

    private static List<String> userTexts() {
        return browser.findElements(By.cssSelector("#transcript .turn .msg.user")).stream().map(WebElement::getText).toList();
    }

    /**
     * The tab keeps one conversation id and opens /chat?conversation= with it, and keeps the transcript: after a reload
     * the turns are shown again and the next turn continues the conversation.
     */
    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void theTabKeepsItsConversationAcrossAReload(int width) {
        atWidth(width);
        String id = conversationId();
        assertTrue(id != null && id.matches("[0-9a-f]{32}"), id);
        send("第一句");
        browser.navigate().refresh();
        waitUntil(() -> browser.findElement(By.id("notice")).getText().contains("之前 1 轮"));
        assertEquals(id, conversationId());
        assertEquals(List.of("第一句"), userTexts(), "the transcript is shown again");
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, turns().getFirst().findElement(By.cssSelector(".msg.assistant")).getText());
        assertTrue(turns().getFirst().findElement(By.cssSelector(".badge")).getText().startsWith("😄 LLM 情感判断: 正面"));
        waitUntilConnected();
        send("第二句");
        assertEquals(List.of("第一句", "第二句"), userTexts());
        assertEquals("2", serverTurns(id), "the second turn continued the conversation on the service");
    }

    /** A dropped connection: the transcript stays, the page reconnects with the same id and the next turn continues. */
    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void aDroppedConnectionKeepsTheTranscriptAndTheConversation(int width) {
        browser.manage().window().setSize(new Dimension(width, 860));
        // Remembers the sockets the page makes, so that the test can drop the page's connection.
        String tracked = (String) browser.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", """
                window.__sockets = [];
                window.WebSocket = class extends window.WebSocket {
                  constructor(url, protocols) { super(url, protocols); window.__sockets.push(this); }
                };
                """)).get("identifier");
        try {
            openPage();
            String id = conversationId();
            send("断线之前");
            js("window.__sockets.at(-1).close();");
            waitUntil(() -> browser.findElement(By.id("notice")).getText().contains("已重新连接，对话继续（之前 1 轮）"));
            assertEquals("connected", browser.findElement(By.id("connection")).getAttribute("data-state"));
            assertEquals(2L, js("return window.__sockets.length;"), "one new connection");
            assertTrue(((String) js("return window.__sockets.at(-1).url;")).contains("conversation=" + id));
            assertEquals(List.of("断线之前"), userTexts(), "the transcript stays");
            send("断线之后");
            assertEquals(List.of("断线之前", "断线之后"), userTexts());
            assertEquals("2", serverTurns(id));
        } finally {
            browser.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", tracked));
        }
    }

    /** A transcript kept in the browser whose conversation the service no longer holds (24 h): shown, and said so. */
    @Test
    void aTranscriptTheServiceForgotIsShownAndSaysSo() {
        String id = conversationId();
        js("localStorage.setItem('allinone.conversation.' + arguments[0], JSON.stringify({turns: [{user: '很久以前',"
                + " badges: [{label: 'POSITIVE', score: 0.9}], reply: '**旧的**回复', finish: 'stop', error: null}]}));", id);
        browser.navigate().refresh();
        waitUntil(() -> browser.findElement(By.id("notice")).getText().contains("服务已不再保存这段对话"));
        assertEquals(List.of("很久以前"), userTexts());
        WebElement reply = turns().getFirst().findElement(By.cssSelector(".msg.assistant"));
        assertEquals("旧的回复", reply.getText());
        assertEquals("旧的", reply.findElement(By.tagName("strong")).getText());
        assertEquals("😄 LLM 情感判断: 正面 (90%)", turns().getFirst().findElement(By.cssSelector(".badge")).getText());
    }

    /** The list of stored conversations: a new one, then back to the first, whose transcript and turns continue. */
    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void theListSwitchesBetweenConversations(int width) {
        atWidth(width);
        String first = conversationId();
        send("第一个对话");
        WebElement history = browser.findElement(By.id("history"));
        history.click();
        assertEquals("true", history.getAttribute("aria-expanded"));
        browser.findElement(By.id("new-conversation")).click();
        String second = conversationId();
        assertTrue(!second.equals(first) && second.matches("[0-9a-f]{32}"), second);
        assertTrue(turns().isEmpty(), "a new conversation starts empty");
        waitUntilConnected();
        send("第二个对话");

        history.click();
        List<WebElement> items = browser.findElements(By.cssSelector("#conversation-list li"));
        assertEquals(List.of(second, first), items.stream().map(i -> i.getAttribute("data-id")).toList(), "most recent first");
        assertEquals(List.of("第二个对话", "第一个对话"), items.stream().map(i -> i.findElement(By.cssSelector(".title")).getText()).toList());
        assertEquals("true", items.get(0).findElement(By.cssSelector("button.open")).getAttribute("aria-current"));
        items.get(1).findElement(By.cssSelector("button.open")).click();
        assertTrue(browser.findElement(By.id("conversations")).getAttribute("hidden") != null, "the list closes");
        assertEquals(first, conversationId());
        assertEquals(List.of("第一个对话"), userTexts());
        waitUntil(() -> browser.findElement(By.id("notice")).getText().contains("之前 1 轮"));
        waitUntilConnected();
        send("回到第一个");
        assertEquals(List.of("第一个对话", "回到第一个"), userTexts());
        assertEquals("2", serverTurns(first));
        assertEquals("1", serverTurns(second));

        history.click();
        browser.findElement(By.cssSelector("#conversation-list li[data-id='" + second + "'] button.delete")).click();
        assertEquals(List.of(first), browser.findElements(By.cssSelector("#conversation-list li")).stream()
                .map(i -> i.getAttribute("data-id")).toList());
        assertNull(js("return localStorage.getItem('allinone.conversation.' + arguments[0]);", second));
        browser.navigate().refresh();
        assertEquals(List.of("第一个对话", "回到第一个"), userTexts(), "the current conversation is kept");
    }

    /** A message sent before the WebSocket is open waits, visibly, and is sent when it opens. */
    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void aMessageSentRightAfterLoadArrives(int width) {
        browser.manage().window().setSize(new Dimension(width, 860));
        // The handshake is held back until the test lets it go, as on a slow network: the socket the page makes opens late.
        String slowSockets = (String) browser.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", SLOW_WEBSOCKET))
                .get("identifier");
        try {
            js("sessionStorage.clear(); localStorage.clear();");
            browser.navigate().refresh();
            WebElement input = browser.findElement(By.id("input"));
            input.sendKeys("刚打开就发");
            input.sendKeys(Keys.ENTER);
            assertEquals("connecting", browser.findElement(By.id("connection")).getAttribute("data-state"));
            assertTrue(browser.findElement(By.id("connection")).getText().contains("连接中"));
            assertEquals(List.of("刚打开就发"), userTexts());
            assertTrue(turns().getLast().findElement(By.cssSelector(".queued")).getText().contains("等待连接"));
            assertEquals("", input.getAttribute("value"));
            js("window.releaseSockets();");
            waitUntil(() -> browser.findElement(By.id("send")).isEnabled()
                    && !turns().getLast().findElements(By.cssSelector(".msg.assistant:not(.typing)")).isEmpty());
            assertEquals(TestCheckpoints.SCRIPTED_REPLY, turns().getLast().findElement(By.cssSelector(".msg.assistant")).getText());
            assertEquals("connected", browser.findElement(By.id("connection")).getAttribute("data-state"));
            assertEquals("1", serverTurns(conversationId()), "the message reached the service in this conversation");
        } finally {
            browser.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", slowSockets));
        }
    }

    /**
     * A WebSocket whose connection is made only once the test calls {@code releaseSockets()} (at once after that);
     * otherwise the browser's own. Held back by the test, not by a timer, so a slow machine cannot open it early.
     */
    private static final String SLOW_WEBSOCKET = """
            (() => {
              const Real = window.WebSocket;
              const held = [];
              let released = false;
              window.releaseSockets = () => { released = true; held.splice(0).forEach((open) => open()); };
              class Slow extends EventTarget {
                constructor(url, protocols) {
                  super();
                  this.readyState = Real.CONNECTING;
                  const open = () => {
                    if (this.readyState === Real.CLOSED) return;
                    const ws = this.ws = new Real(url, protocols);
                    ws.onopen = (e) => { this.readyState = Real.OPEN; if (this.onopen) this.onopen(e); };
                    ws.onmessage = (e) => { if (this.onmessage) this.onmessage(e); };
                    ws.onerror = (e) => { if (this.onerror) this.onerror(e); };
                    ws.onclose = (e) => { this.readyState = Real.CLOSED; if (this.onclose) this.onclose(e); };
                  };
                  if (released) open(); else held.push(open);
                }
                send(data) {
                  if (this.readyState !== Real.OPEN) throw new DOMException("not open", "InvalidStateError");
                  this.ws.send(data);
                }
                close() {
                  this.readyState = Real.CLOSED;
                  if (this.ws) this.ws.close();
                }
              }
              for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Slow[k] = Real[k];
              window.WebSocket = Slow;
            })();
            """;

    /** Dark when the system prefers it, unless the toggle says otherwise; the toggle's choice is remembered. */
    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void darkModeFollowsTheSystemAndTheToggle(int width) {
        atWidth(width);
        String light = "rgb(246, 247, 251)", dark = "rgb(20, 23, 31)";
        WebElement theme = browser.findElement(By.id("theme"));
        assertEquals(light, background());
        assertTrue(theme.getText().contains("跟随系统"), theme.getText());
        browser.executeCdpCommand("Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
        assertEquals(dark, background(), "prefers-color-scheme: dark");
        assertEquals("rgb(230, 233, 240)", js("return getComputedStyle(document.body).color;"));
        theme.click(); // → dark
        assertEquals("dark", js("return document.documentElement.dataset.theme;"));
        assertEquals(dark, background());
        theme.click(); // → light, over the system's dark
        assertEquals("light", js("return document.documentElement.dataset.theme;"));
        assertEquals(light, background());
        assertTrue(theme.getAttribute("aria-label").contains("浅色"), theme.getAttribute("aria-label"));
        browser.navigate().refresh();
        assertEquals(light, background(), "the choice is remembered");
        browser.findElement(By.id("theme")).click(); // → the system's again
        assertEquals(dark, background());
        browser.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
        assertEquals(light, background());
        browser.findElement(By.id("theme")).click(); // → dark, whatever the system says
        assertEquals(dark, background());
    }

    private static Object background() {
        return js("return getComputedStyle(document.body).backgroundColor;");
    }

    private static void send(String text) {
        int before = turns().size();
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys(text);
        input.sendKeys(Keys.ENTER);
        waitUntil(() -> turns().size() > before && browser.findElement(By.id("send")).isEnabled()
                && !turns().getLast().findElements(By.cssSelector(".msg.assistant")).isEmpty());
    }

    @Test
    void errorFramesAreShownInline() {
        WebElement input = browser.findElement(By.id("input"));
        js("arguments[0].value = '好'.repeat(2001);", input); // over the server's limit (maxlength only stops typing)
        input.sendKeys(Keys.ENTER);
        waitUntil(() -> !turns().isEmpty() && !turns().getLast().findElements(By.cssSelector(".msg.error")).isEmpty());
        assertFalse(turns().getLast().findElement(By.cssSelector(".msg.error")).getText().isBlank());
        waitUntil(() -> browser.findElement(By.id("send")).isEnabled());
    }
}
