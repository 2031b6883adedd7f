package dev.allinone.download;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a local HTTP server that behaves like the hub (HEAD metadata, Range requests). */
class ModelDownloaderTest {

    private final Map<String, byte[]> files = new HashMap<>();
    private final Map<String, String> advertisedSha = new HashMap<>();
    private final List<String> requests = new ArrayList<>();
    private final List<String> authorizations = new ArrayList<>();
    /** Files the hub answers as it does large (LFS) ones: HEAD and GET redirect to a CDN path, metadata on the redirect. */
    private final java.util.Set<String> redirected = new java.util.HashSet<>();
    /** Bytes the server leaves off a file's body (a connection that ends early). */
    private int cutShort;
    private HttpServer server;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        Random random = new Random(5);
        for (String name : ModelDownloader.FILES) {
            byte[] data = new byte[name.equals("model.safetensors") ? 300_000 : 1_000 + name.length()];
            random.nextBytes(data);
            files.put(name, data);
        }
        advertisedSha.put("model.safetensors", sha(files.get("model.safetensors")));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/Org/Model/resolve/main/", this::serve);
        server.createContext("/cdn/", this::serveFromCdn);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void serve(HttpExchange ex) throws IOException {
        String name = ex.getRequestURI().getPath().substring("/Org/Model/resolve/main/".length());
        String range = ex.getRequestHeaders().getFirst("Range");
        synchronized (requests) {
            requests.add(ex.getRequestMethod() + " " + name + (range == null ? "" : " " + range));
            authorizations.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
        }
        byte[] data = files.get(name);
        if (data == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        if (advertisedSha.containsKey(name)) {
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + advertisedSha.get(name) + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", String.valueOf(data.length));
        }
        if (redirected.contains(name)) {
            ex.getResponseHeaders().add("Location", "/cdn/" + name);
            ex.sendResponseHeaders(302, -1);
            ex.close();
            return;
        }
        send(ex, data, range);
    }

    private void serveFromCdn(HttpExchange ex) throws IOException {
        String name = ex.getRequestURI().getPath().substring("/cdn/".length());
        String range = ex.getRequestHeaders().getFirst("Range");
        synchronized (requests) {
            requests.add(ex.getRequestMethod() + " cdn/" + name + (range == null ? "" : " " + range));
        }
        send(ex, files.get(name), range);
    }

    private void send(HttpExchange ex, byte[] data, String range) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", String.valueOf(data.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        int from = range == null ? 0 : Integer.parseInt(range.replace("bytes=", "").replace("-", ""));
        if (from > 0) {
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        ex.sendResponseHeaders(from > 0 ? 206 : 200, data.length - from - cutShort);
        ex.getResponseBody().write(data, from, data.length - from - cutShort);
        ex.close();
    }

    private String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private ModelDownloader downloader() {
        return new ModelDownloader(endpoint(), "Org/Model", "main", Optional.empty(), new PrintStream(log, true));
    }

    @Test
    void downloadsEveryFileWithProgressAndVerifiesTheChecksum(@TempDir Path dir) throws Exception {
        downloader().downloadAll(dir);
        for (String name : ModelDownloader.FILES) {
            assertArrayEquals(files.get(name), Files.readAllBytes(dir.resolve(name)), name);
            assertFalse(Files.exists(dir.resolve(name + ".part")));
        }
        assertTrue(log.toString().contains("model.safetensors: SHA-256 verified"), log.toString());
        assertTrue(log.toString().contains("100.0%"), log.toString());
    }

    @Test
    void resumesAPartialDownloadWithARangeRequest(@TempDir Path dir) throws Exception {
        byte[] model = files.get("model.safetensors");
        Files.write(dir.resolve("model.safetensors.part"), java.util.Arrays.copyOf(model, 123_456));
        downloader().download("model.safetensors", dir.resolve("model.safetensors"));
        assertArrayEquals(model, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(requests.contains("GET model.safetensors bytes=123456-"), requests.toString());
    }

    @Test
    void aChecksumMismatchFailsAndDiscardsTheBadFile(@TempDir Path dir) {
        advertisedSha.put("model.safetensors", "0".repeat(64));
        IOException e = assertThrows(IOException.class, () -> downloader().download("model.safetensors", dir.resolve("model.safetensors")));
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.part")));
    }

    @Test
    void aCompleteFileIsNotFetchedAgain(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("config.json"), files.get("config.json"));
        downloader().download("config.json", dir.resolve("config.json"));
        assertEquals(List.of("HEAD config.json"), requests);
    }

    @Test
    void aMissingFileIsAClearError(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class, () -> downloader().download("nope.bin", dir.resolve("nope.bin")));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
    }

    @Test
    void aBodyShorterThanTheAdvertisedSizeFailsAndKeepsThePartToResume(@TempDir Path dir) throws Exception {
        cutShort = 1000;
        IOException e = assertThrows(IOException.class, () -> downloader().download("model.safetensors", dir.resolve("model.safetensors")));
        assertTrue(e.getMessage().contains("got 299000 bytes, expected 300000"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertEquals(299_000, Files.size(dir.resolve("model.safetensors.part")));

        cutShort = 0;
        downloader().download("model.safetensors", dir.resolve("model.safetensors"));
        assertArrayEquals(files.get("model.safetensors"), Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(requests.contains("GET model.safetensors bytes=299000-"), requests.toString());
    }

    @Test
    void aPartialFileLargerThanTheRemoteOneIsStartedAfresh(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("tokenizer.json.part"), new byte[50_000]);
        downloader().download("tokenizer.json", dir.resolve("tokenizer.json"));
        assertArrayEquals(files.get("tokenizer.json"), Files.readAllBytes(dir.resolve("tokenizer.json")));
        assertEquals(List.of("HEAD tokenizer.json", "GET tokenizer.json"), requests);
    }

    /** As on huggingface.co: the large file's HEAD and GET answer 302 to a CDN, size and SHA-256 on the redirect. */
    @Test
    void theHubsRedirectToItsCdnIsFollowedAndItsLinkedSizeAndEtagVerified(@TempDir Path dir) throws Exception {
        redirected.add("model.safetensors");
        downloader().download("model.safetensors", dir.resolve("model.safetensors"));
        assertArrayEquals(files.get("model.safetensors"), Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(log.toString().contains("model.safetensors: SHA-256 verified"), log.toString());
        assertEquals(List.of("HEAD model.safetensors", "GET model.safetensors", "GET cdn/model.safetensors"), requests);

        advertisedSha.put("model.safetensors", "1".repeat(64));
        Files.delete(dir.resolve("model.safetensors"));
        IOException e = assertThrows(IOException.class, () -> downloader().download("model.safetensors", dir.resolve("model.safetensors")));
        assertTrue(e.getMessage().contains("does not match the published " + "1".repeat(64)), e.getMessage());
    }

    /** The command line as a user runs it: HF_ENDPOINT chooses the hub, HF_TOKEN goes with every request to it. */
    @Test
    void theCommandHonoursHfEndpointAndSendsHfToken(@TempDir Path dir) throws Exception {
        ProcessBuilder command = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ModelDownloader.class.getName(),
                "--repo", "Org/Model", "--out", dir.toString()).redirectErrorStream(true);
        command.environment().put("HF_ENDPOINT", endpoint());
        command.environment().put("HF_TOKEN", "hf_test_token");
        Process process = command.start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), output);
        for (String name : ModelDownloader.FILES) {
            assertArrayEquals(files.get(name), Files.readAllBytes(dir.resolve(name)), name);
        }
        assertFalse(authorizations.isEmpty());
        assertTrue(authorizations.stream().allMatch("Bearer hf_test_token"::equals), authorizations.toString());
    }

    /** A repository without model.safetensors: the index, then every shard it names once; progress over the whole. */
    @Test
    void aShardedCheckpointComesWholeWithProgressAgainstTheTotal(@TempDir Path dir) throws Exception {
        files.remove("model.safetensors");
        Random random = new Random(9);
        byte[] first = new byte[120_000];
        byte[] second = new byte[80_000];
        random.nextBytes(first);
        random.nextBytes(second);
        files.put("model-00001-of-00002.safetensors", first);
        files.put("model-00002-of-00002.safetensors", second);
        files.put("model.safetensors.index.json", ("{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00002-of-00002.safetensors\",\"c\":\"model-00001-of-00002.safetensors\"}}").getBytes());
        List<long[]> progress = new ArrayList<>();
        downloader().withListener((file, done, total) -> progress.add(new long[] {done, total})).downloadAll(dir);
        assertArrayEquals(first, Files.readAllBytes(dir.resolve("model-00001-of-00002.safetensors")));
        assertArrayEquals(second, Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors")));
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        long total = files.entrySet().stream().filter(e -> !e.getKey().equals("model.safetensors.index.json"))
                .mapToLong(e -> e.getValue().length).sum();
        assertEquals(total, progress.getLast()[1]);
        assertEquals(total, progress.getLast()[0]);
        for (int i = 1; i < progress.size(); i++) {
            assertTrue(progress.get(i)[0] >= progress.get(i - 1)[0], "progress only grows");
        }
        assertEquals(1, requests.stream().filter(r -> r.startsWith("GET model-00001")).count(), requests.toString());
    }

    @Test
    void anIndexNamingAFileOutsideTheDirectoryIsRefused(@TempDir Path dir) {
        files.remove("model.safetensors");
        files.put("model.safetensors.index.json", "{\"weight_map\":{\"a\":\"../../evil\"}}".getBytes());
        IOException e = assertThrows(IOException.class, () -> downloader().downloadAll(dir));
        assertTrue(e.getMessage().contains("outside the model directory"), e.getMessage());
    }

    private static String sha(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
