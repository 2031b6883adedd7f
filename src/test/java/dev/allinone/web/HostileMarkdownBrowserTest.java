package dev.allinone.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * A model whose Markdown is hostile — a javascript: link, a data: image, a data: link, raw script: the page renders
 * none of it as anything that runs or loads, streamed and after a reload (rendered from the stored transcript).
 */
@QuarkusTest
@TestProfile(ScriptedReplies.HostileModel.class)
class HostileMarkdownBrowserTest {

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

    @ParameterizedTest
    @ValueSource(ints = {412, 1280})
    void hostileMarkdownRunsNothing(int width) {
        ReadyService.await();
        browser.manage().window().setSize(new Dimension(width, 860));
        browser.get(page.toString());
        HeadlessChromium.js(browser, "sessionStorage.clear(); localStorage.clear();");
        browser.navigate().refresh();
        HeadlessChromium.waitUntil(browser, () -> browser.findElement(By.id("send")).isEnabled());
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys("写点什么");
        input.sendKeys(Keys.ENTER);
        HeadlessChromium.waitUntil(browser, () -> browser.findElement(By.id("send")).isEnabled()
                && !browser.findElements(By.cssSelector("#transcript .turn .msg.assistant:not(.typing)")).isEmpty());
        checkHarmless();
        browser.navigate().refresh(); // the stored transcript goes through the same renderer
        HeadlessChromium.waitUntil(browser, () -> !browser.findElements(By.cssSelector("#transcript .turn .msg.assistant")).isEmpty());
        checkHarmless();
    }

    private static void checkHarmless() {
        WebElement reply = browser.findElement(By.cssSelector("#transcript .turn .msg.assistant"));
        assertEquals("点这里，看图和data:text/html,hi<script>alert(2);", reply.getText(),
                "link texts and the image's alt text stay; raw HTML is shown as text");
        assertTrue(browser.findElements(By.cssSelector("#transcript script, #transcript img, #transcript iframe, #transcript [onerror]")).isEmpty());
        List<WebElement> links = reply.findElements(By.tagName("a"));
        assertEquals(2, links.size());
        for (WebElement link : links) {
            assertNull(link.getAttribute("href"), "a javascript: or data: link keeps no target: " + link.getAttribute("outerHTML"));
            link.click(); // nothing to follow, nothing to run
        }
        assertEquals(1, browser.getWindowHandles().size(), "no window opened");
        assertNull(HeadlessChromium.js(browser, "return window.__pwned;"));
        assertFalse(browser.getCurrentUrl().startsWith("data:") || browser.getCurrentUrl().startsWith("javascript:"));
        // Had a script run, its alert would be open and this call would fail with UnhandledAlertException.
        assertEquals("ok", HeadlessChromium.js(browser, "return 'ok';"));
    }
}
