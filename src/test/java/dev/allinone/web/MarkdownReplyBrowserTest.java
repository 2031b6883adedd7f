package dev.allinone.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * A model whose reply is Markdown (a list, bold text, a code block, a table): the page renders it, while it streams
 * and once done, in the same element; its copy button puts the reply on the clipboard. At phone and desktop widths;
 * the phone-width run saves the README's screenshots, light and dark.
 */
@QuarkusTest
@TestProfile(ScriptedReplies.MarkdownModel.class)
class MarkdownReplyBrowserTest {

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

    private static Object js(String script, Object... args) {
        return HeadlessChromium.js(browser, script, args);
    }

    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    @SuppressWarnings("unchecked")
    void theReplyRendersAsMarkdownWhileItStreamsAndCopies(int width) throws Exception {
        ReadyService.await();
        browser.manage().window().setSize(new Dimension(width, 860));
        browser.get(page.toString());
        js("sessionStorage.clear(); localStorage.clear();");
        browser.navigate().refresh();
        HeadlessChromium.waitUntil(browser, () -> "connected".equals(browser.findElement(By.id("connection")).getAttribute("data-state")));
        js("""
                window.__seen = [];
                new MutationObserver(() => {
                  const reply = document.querySelector('#transcript .turn:last-child .msg.assistant');
                  if (!reply || !reply.textContent) return;
                  if (!reply.__first) reply.__first = window.__seen.length + 1;
                  window.__seen.push({ typing: reply.classList.contains('typing'), list: !!reply.querySelector('ol li'),
                                       first: reply.__first, length: reply.textContent.length });
                }).observe(document.getElementById('transcript'), { childList: true, subtree: true, characterData: true });
                """);
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys("给点建议");
        input.sendKeys(Keys.ENTER);
        HeadlessChromium.waitUntil(browser, () -> browser.findElement(By.id("send")).isEnabled()
                && !browser.findElements(By.cssSelector("#transcript .turn .msg.assistant:not(.typing)")).isEmpty());

        WebElement reply = browser.findElement(By.cssSelector("#transcript .turn .msg.assistant"));
        List<WebElement> items = reply.findElements(By.cssSelector("ol li"));
        assertEquals(List.of("早睡", "多喝水"), items.stream().map(WebElement::getText).toList());
        assertEquals("早睡", items.get(0).findElement(By.tagName("strong")).getText());
        assertEquals("2", reply.findElements(By.tagName("ol")).get(1).getAttribute("start"), "the second item keeps its number");
        assertEquals("print(\"加油\")", reply.findElement(By.cssSelector("pre > code")).getText());
        assertEquals(List.of("项目", "次数"), reply.findElements(By.cssSelector("table thead th")).stream().map(WebElement::getText).toList());
        assertEquals(List.of("跑步", "5"), reply.findElements(By.cssSelector("table tbody td")).stream().map(WebElement::getText).toList());
        assertTrue(reply.getText().startsWith("好的，给你两点建议："), reply.getText());
        assertEquals(reply.getText().replaceAll("\\s+", ""), js("return document.getElementById('live').textContent;").toString()
                .replaceAll("\\s+", ""), "the finished reply is read out from the aria-live region");

        // Rendered while it streamed, in one element throughout (never replaced: no flicker), growing as it came.
        List<Map<String, Object>> seen = (List<Map<String, Object>>) js("return window.__seen;");
        assertTrue(seen.stream().anyMatch(s -> Boolean.TRUE.equals(s.get("typing")) && Boolean.TRUE.equals(s.get("list"))),
                "a list already rendered while the reply streamed: " + seen);
        assertTrue(seen.stream().allMatch(s -> ((Number) s.get("first")).intValue() == 1), "one reply element: " + seen);
        assertTrue(seen.stream().map(s -> s.get("length")).distinct().count() >= 3, "rendered piece by piece: " + seen);

        if (width < 600) {
            screenshot("web-page.png");
            browser.executeCdpCommand("Emulation.setEmulatedMedia",
                    Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
            try {
                assertEquals("rgb(20, 23, 31)", js("return getComputedStyle(document.body).backgroundColor;"));
                screenshot("web-page-dark.png");
            } finally {
                browser.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
            }
        }

        // Copy: the reply as the model wrote it (Markdown) on the clipboard.
        browser.executeCdpCommand("Browser.grantPermissions", Map.of("origin", page.toString().replaceFirst("/$", ""),
                "permissions", List.of("clipboardReadWrite", "clipboardSanitizedWrite")));
        WebElement copy = browser.findElement(By.cssSelector("#transcript .turn .reply-tools button.copy"));
        assertEquals("复制", copy.getText());
        copy.click();
        HeadlessChromium.waitUntil(browser, () -> "true".equals(copy.getAttribute("data-copied")));
        assertEquals("已复制", copy.getText());
        Object clipboard = browser.executeAsyncScript(
                "navigator.clipboard.readText().then(arguments[0], e => arguments[0]('read failed: ' + e));");
        assertEquals(ScriptedReplies.text(ScriptedReplies.MARKDOWN), clipboard);
    }

    private static void screenshot(String name) throws Exception {
        js("document.activeElement.blur(); document.getElementById('notice').hidden = true;");
        Path shot = Path.of("target", name);
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.size(shot) > 1000);
    }
}
