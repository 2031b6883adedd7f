package dev.allinone.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/** A model whose reply is markup: the page shows it as text, streamed token by token, and runs none of it. */
@QuarkusTest
@TestProfile(ModelReplyMarkupBrowserTest.MarkupModel.class)
class ModelReplyMarkupBrowserTest {

    public static class MarkupModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyMarkup().toString());
        }
    }

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

    @Test
    void theModelsMarkupIsShownAsTextAndNeverRun() {
        ReadyService.await();
        browser.get(page.toString());
        HeadlessChromium.waitUntil(browser, () -> browser.findElement(By.id("send")).isEnabled());
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys("写点什么");
        input.sendKeys(Keys.ENTER);
        HeadlessChromium.waitUntil(browser, () -> {
            List<WebElement> replies = browser.findElements(By.cssSelector("#transcript .turn .msg.assistant"));
            return browser.findElement(By.id("send")).isEnabled() && !replies.isEmpty()
                    && !replies.getLast().getAttribute("class").contains("typing");
        });
        WebElement reply = browser.findElements(By.cssSelector("#transcript .turn .msg.assistant")).getLast();
        assertEquals(TestCheckpoints.MARKUP_REPLY, reply.getText());
        assertTrue(browser.findElements(By.cssSelector("#transcript img")).isEmpty());
        // Had the handler run, its alert would be open and this call would fail with UnhandledAlertException.
        assertEquals("ok", HeadlessChromium.js(browser, "return 'ok';"));
    }
}
