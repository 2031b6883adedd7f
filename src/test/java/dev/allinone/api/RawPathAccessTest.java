package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The key guard decides on the path the routers serve. HTTP clients normalise paths before sending them, so these
 * requests are written byte for byte on a socket, as an attacker would send them (issue 22's table).
 */
@QuarkusTest
@TestProfile(AccessWithApiKeyTest.WithKey.class)
class RawPathAccessTest {

    private static final String KEY_HEADER = "Authorization: Bearer " + AccessWithApiKeyTest.KEY;
    private static final String JSON_BODY = "{\"text\":\"好\"}";

    @TestHTTPResource("/")
    URI service;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    /** Writes the request exactly as given and returns the status code of the answer's status line. */
    private int status(String method, String rawPath, String... headers) throws IOException {
        byte[] body = method.equals("POST") ? JSON_BODY.getBytes(StandardCharsets.UTF_8) : new byte[0];
        StringBuilder request = new StringBuilder(method).append(' ').append(rawPath).append(" HTTP/1.1\r\n")
                .append("Host: localhost:").append(service.getPort()).append("\r\n");
        if (List.of(headers).stream().noneMatch(h -> h.startsWith("Connection:"))) {
            request.append("Connection: close\r\n");
        }
        for (String header : headers) {
            request.append(header).append("\r\n");
        }
        if (body.length > 0) {
            request.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        request.append("\r\n");
        try (Socket socket = new Socket("127.0.0.1", service.getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            String statusLine = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1)).readLine();
            assertTrue(statusLine != null && statusLine.startsWith("HTTP/1.1 "), method + " " + rawPath + " answered " + statusLine);
            return Integer.parseInt(statusLine.substring(9, 12));
        }
    }

    private static final String[] WEBSOCKET_HANDSHAKE = { "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13" };

    private static String[] handshakeWith(String... more) {
        List<String> headers = new ArrayList<>(List.of(WEBSOCKET_HANDSHAKE));
        headers.addAll(List.of(more));
        return headers.toArray(String[]::new);
    }

    private Executable expect(int expected, String method, String rawPath, String... headers) {
        return () -> assertEquals(expected, status(method, rawPath, headers), method + " " + rawPath);
    }

    @Test
    void dotSegmentsThatLandOnAProtectedPathNeedTheKey() {
        assertAll(
                expect(401, "POST", "/q/health/../../api/sentiment"),
                expect(401, "GET", "/q/health/%2e%2e/%2e%2e/api/tasks"),
                expect(401, "GET", "/q/health/%2E%2E/%2E%2E/api/tasks"),
                expect(401, "GET", "/q/health/../../v1/models"),
                expect(401, "GET", "/q/health/./../../q/metrics"),
                expect(401, "GET", "/q/health/live/../../../api/tasks"),
                expect(401, "GET", "/q/health/../../chat", WEBSOCKET_HANDSHAKE),
                expect(401, "GET", "/index.html/../chat", WEBSOCKET_HANDSHAKE),
                expect(401, "GET", "/q/healthy"),
                expect(401, "GET", "/q/health/well"),
                expect(401, "POST", "/q/health/live"));
    }

    @Test
    void doubleSlashesAreNormalisedBeforeTheKeyIsChecked() {
        assertAll(
                expect(401, "POST", "//api/sentiment"),
                expect(401, "GET", "/q/health//../../api/tasks"),
                expect(401, "GET", "//q//health//..//..//v1/models"),
                expect(401, "GET", "//chat", WEBSOCKET_HANDSHAKE));
    }

    @Test
    void pathsThatCannotBeNormalisedSafelyAreRefused() {
        assertAll(
                expect(400, "GET", "/q/health/..%2F..%2Fapi/tasks"),
                expect(400, "GET", "/q/health/..%2f..%2fapi/tasks"),
                expect(400, "GET", "/q/health/..%5C..%5Capi/tasks"),
                expect(400, "GET", "/q/health/..\\..\\api/tasks"),
                expect(400, "GET", "/q/health/live%00"),
                expect(400, "GET", "/q/health/%zz"),
                expect(400, "GET", "/q/health/../../../api/tasks"),
                expect(400, "GET", "/../q/health/live"),
                expect(400, "GET", "/q/health/%2e%2e/%2e%2e/%2e%2e/chat", WEBSOCKET_HANDSHAKE),
                // Refused whatever the key: no path we serve contains them.
                expect(400, "GET", "/q/health/..%2F..%2Fapi/tasks", KEY_HEADER));
    }

    @Test
    void theProbesAndThePageAreOpenAndNothingElse() {
        assertAll(
                expect(200, "GET", "/q/health/live"),
                expect(200, "GET", "/q/health/ready"),
                expect(200, "GET", "/q/health/started"),
                expect(200, "GET", "/q/health"),
                expect(200, "HEAD", "/q/health/ready"),
                expect(200, "GET", "/"),
                expect(200, "GET", "/index.html"),
                expect(200, "GET", "/app.js"),
                expect(200, "GET", "/app.css"),
                // What a path normalises to decides, both ways.
                expect(200, "GET", "/api/../q/health/live"),
                expect(401, "GET", "/q/metrics"),
                expect(401, "GET", "/q/openapi"));
    }

    @Test
    void withTheKeyTheNormalisedPathIsServed() {
        assertAll(
                expect(200, "POST", "/q/health/../../api/sentiment", KEY_HEADER),
                expect(200, "GET", "/q/health/%2e%2e/%2e%2e/api/tasks", KEY_HEADER),
                expect(200, "GET", "/q/health/../../v1/models", KEY_HEADER),
                expect(200, "GET", "/q/health/./../../q/metrics", KEY_HEADER),
                expect(200, "POST", "//api/sentiment", KEY_HEADER),
                expect(101, "GET", "/chat?api_key=" + AccessWithApiKeyTest.KEY, WEBSOCKET_HANDSHAKE),
                expect(101, "GET", "/q/health/../../chat", handshakeWith(KEY_HEADER)));
    }
}
