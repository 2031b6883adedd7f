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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
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
        long growthSteps = events.stream().map(e -> ((Number) e.get("reply")).intValue()).filter(n -> n > 0).distinct().count();
        assertTrue(growthSteps >= 3, "the reply grows piece by piece: " + events);

        Path shot = Path.of("target", "web-page.png");
        Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.size(shot) > 1000);
    }

    /** The analyses offered are the service's tasks; the chosen ones come back as badges before the reply. */
    @Test
    void chosenAnalysesAppearAsBadges() {
        waitUntil(() -> !browser.findElements(By.cssSelector("#tasks input[value=intent]")).isEmpty());
        List<String> offered = browser.findElements(By.cssSelector("#tasks input[type=checkbox]")).stream().map(e -> e.getAttribute("value")).toList();
        assertEquals(List.of("sentiment", "intent", "keywords", "summary", "translate"), offered);
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

    /** The tab keeps one conversation id and opens /chat?conversation= with it, so a reload continues the conversation. */
    @Test
    void theTabKeepsItsConversationAcrossAReload() {
        String id = (String) js("return sessionStorage.getItem('allinone.conversation');");
        assertTrue(id != null && id.matches("[0-9a-f]{32}"), id);
        send("第一句");
        browser.navigate().refresh();
        waitUntil(() -> browser.findElement(By.id("notice")).getText().contains("之前 1 轮"));
        assertEquals(id, js("return sessionStorage.getItem('allinone.conversation');"));
        waitUntil(() -> browser.findElement(By.id("send")).isEnabled());
        send("第二句");
        io.restassured.RestAssured.given().contentType("application/json").header("X-Conversation-Id", id).body("{\"text\":\"第三句\"}")
                .post("/api/chat").then().statusCode(200).header("X-Conversation-Turns", "2");
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
