package dev.allinone.download;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Downloads a Hugging Face model's files into a local directory: the service's first start when its model directory
 * is missing ({@code allinone.model.download}), or this class's command line. Resumable (a {@code .part} file
 * continues with an HTTP Range request), checks each file's size and, where the hub publishes it (large files'
 * {@code X-Linked-Etag}), its SHA-256. Sharded checkpoints ({@code model.safetensors.index.json} and its shards)
 * come whole.
 *
 * <pre>usage: ModelDownloader [--repo Qwen/Qwen1.5-0.5B-Chat] [--revision main] [--out models/Qwen1.5-0.5B-Chat]
 *                        [--endpoint https://huggingface.co]   (env HF_ENDPOINT; HF_TOKEN is sent if set)</pre>
 */
public final class ModelDownloader {

    static final List<String> FILES = List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "model.safetensors");
    private static final String SINGLE_FILE_WEIGHTS = "model.safetensors";
    private static final String SHARD_INDEX = "model.safetensors.index.json";

    /** Bytes fetched so far of all files to fetch, called as they arrive (from the downloading thread). */
    public interface Listener {
        void progress(String file, long done, long total);
    }

    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(20)).build();
    private final HttpClient noRedirect = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).build();
    private final String endpoint;
    private final String repo;
    private final String revision;
    private final Optional<String> token;
    private final PrintStream progress;
    private Listener listener = (file, done, total) -> { };
    /** Bytes of the files finished (or already complete) in this {@link #downloadAll}, and the total it plans. */
    private long finishedBytes;
    private long plannedBytes = -1;

    public ModelDownloader(String endpoint, String repo, String revision, Optional<String> token, PrintStream progress) {
        this.endpoint = endpoint.replaceAll("/+$", "");
        this.repo = repo;
        this.revision = revision;
        this.token = token;
        this.progress = progress;
    }

    public static void main(String[] args) throws Exception {
        String repo = "Qwen/Qwen1.5-0.5B-Chat";
        String revision = "main";
        String out = "models/Qwen1.5-0.5B-Chat";
        String endpoint = Optional.ofNullable(System.getenv("HF_ENDPOINT")).orElse("https://huggingface.co");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--repo" -> repo = args[i + 1];
                case "--revision" -> revision = args[i + 1];
                case "--out" -> out = args[i + 1];
                case "--endpoint" -> endpoint = args[i + 1];
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        ModelDownloader downloader = new ModelDownloader(endpoint, repo, revision, Optional.ofNullable(System.getenv("HF_TOKEN")), System.err);
        try {
            downloader.downloadAll(Path.of(out));
            System.err.println("Model ready in " + Path.of(out).toAbsolutePath());
        } catch (IOException e) {
            System.err.println("Download failed: " + e.getMessage());
            System.exit(1);
        }
    }

    public ModelDownloader withListener(Listener listener) {
        this.listener = listener;
        return this;
    }

    /**
     * Every file of the model into {@code dir}: the metadata, then the weights — {@code model.safetensors}, or when
     * the repository has none, {@code model.safetensors.index.json} and every shard it names. Sizes are asked for
     * first, so progress is reported against the whole.
     */
    public void downloadAll(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> files = new java.util.ArrayList<>(FILES.subList(0, FILES.size() - 1));
        Map<String, Remote> remotes = new java.util.LinkedHashMap<>();
        for (String file : files) {
            remotes.put(file, head(uri(file)));
        }
        if (exists(SINGLE_FILE_WEIGHTS)) {
            remotes.put(SINGLE_FILE_WEIGHTS, head(uri(SINGLE_FILE_WEIGHTS)));
        } else {
            download(SHARD_INDEX, dir.resolve(SHARD_INDEX));
            for (String shard : shards(dir.resolve(SHARD_INDEX))) {
                remotes.put(shard, head(uri(shard)));
            }
        }
        finishedBytes = 0;
        plannedBytes = remotes.values().stream().allMatch(r -> r.size() >= 0) ? remotes.values().stream().mapToLong(Remote::size).sum() : -1;
        for (Map.Entry<String, Remote> e : remotes.entrySet()) {
            download(e.getKey(), dir.resolve(e.getKey()), e.getValue());
            finishedBytes += Files.size(dir.resolve(e.getKey()));
        }
        plannedBytes = -1;
    }

    /** The shard files an index's {@code weight_map} names, each once, in order. */
    static List<String> shards(Path index) throws IOException {
        com.fasterxml.jackson.databind.JsonNode map = new com.fasterxml.jackson.databind.ObjectMapper().readTree(index.toFile()).path("weight_map");
        if (!map.isObject() || map.isEmpty()) {
            throw new IOException(index.getFileName() + " has no weight_map");
        }
        java.util.Set<String> shards = new java.util.LinkedHashSet<>();
        map.properties().forEach(e -> shards.add(e.getValue().asText()));
        for (String shard : shards) {
            if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new IOException(index.getFileName() + " names a shard outside the model directory: " + shard);
            }
        }
        return List.copyOf(shards);
    }

    private boolean exists(String name) throws IOException, InterruptedException {
        int status = sendHead(uri(name)).statusCode();
        if (status == 401 || status == 403) {
            throw new IOException("HTTP " + status + " for " + uri(name) + " (set HF_TOKEN)");
        }
        return status < 400;
    }

    private URI uri(String name) {
        return URI.create(endpoint + "/" + repo + "/resolve/" + revision + "/" + name);
    }

    /** Downloads one file unless it is already complete; resumes a previous partial download. */
    public void download(String name, Path target) throws IOException, InterruptedException {
        download(name, target, head(uri(name)));
    }

    private void download(String name, Path target, Remote remote) throws IOException, InterruptedException {
        URI uri = uri(name);
        if (Files.isRegularFile(target) && remote.size() >= 0 && Files.size(target) == remote.size()
                && (remote.sha256().isEmpty() || sha256(target).equals(remote.sha256().get()))) {
            progress.printf("%s: already complete%n", name);
            return;
        }
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (remote.size() >= 0 && have > remote.size()) {
            Files.delete(part);
            have = 0;
        }
        HttpRequest.Builder get = request(uri).GET();
        if (have > 0) {
            get.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> response = http.send(get.build(), HttpResponse.BodyHandlers.ofInputStream());
        boolean append = response.statusCode() == 206;
        if (response.statusCode() != 200 && !append) {
            response.body().close();
            throw new IOException(name + ": HTTP " + response.statusCode() + " from " + uri);
        }
        long start = append ? have : 0;
        try (InputStream in = response.body();
                OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            copyWithProgress(name, in, out, start, remote.size());
        }
        verify(name, part, remote);
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private void verify(String name, Path part, Remote remote) throws IOException {
        long size = Files.size(part);
        if (remote.size() >= 0 && size != remote.size()) {
            throw new IOException(name + ": got " + size + " bytes, expected " + remote.size() + " (run again to resume)");
        }
        if (remote.sha256().isPresent()) {
            String actual = sha256(part);
            if (!actual.equals(remote.sha256().get())) {
                Files.delete(part);
                throw new IOException(name + ": SHA-256 " + actual + " does not match the published " + remote.sha256().get()
                        + "; the partial file was removed, run again");
            }
            progress.printf("%s: SHA-256 verified%n", name);
        }
    }

    private void copyWithProgress(String name, InputStream in, OutputStream out, long start, long total) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long done = start;
        long lastPrint = 0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            done += n;
            listener.progress(name, finishedBytes + done, plannedBytes);
            long now = System.nanoTime();
            if (now - lastPrint > 200_000_000L) {
                printBar(name, done, total);
                lastPrint = now;
            }
        }
        printBar(name, done, total);
        progress.println();
    }

    private void printBar(String name, long done, long total) {
        if (total > 0) {
            int width = 30;
            int filled = (int) (width * done / total);
            progress.printf(Locale.ROOT, "\r%-22s [%s%s] %5.1f%% %,d/%,d bytes", name, "#".repeat(filled), " ".repeat(width - filled),
                    100.0 * done / total, done, total);
        } else {
            progress.printf(Locale.ROOT, "\r%-22s %,d bytes", name, done);
        }
    }

    /** What the hub says about a file before we fetch it: size and, for large files, SHA-256. */
    record Remote(long size, Optional<String> sha256) {
    }

    private Remote head(URI uri) throws IOException, InterruptedException {
        HttpResponse<Void> r = sendHead(uri);
        if (r.statusCode() >= 400) {
            throw new IOException("HTTP " + r.statusCode() + " for " + uri + (r.statusCode() == 401 ? " (set HF_TOKEN)" : ""));
        }
        long size = r.headers().firstValueAsLong("x-linked-size")
                .orElse(r.statusCode() == 200 ? r.headers().firstValueAsLong("content-length").orElse(-1) : -1);
        Optional<String> sha = r.headers().firstValue("x-linked-etag").map(ModelDownloader::unquote)
                .filter(v -> v.matches("[0-9a-f]{64}"));
        return new Remote(size, sha);
    }

    /** HEAD without following the redirect: that keeps the hub's own headers (X-Linked-Size / X-Linked-Etag) of LFS files. */
    private HttpResponse<Void> sendHead(URI uri) throws IOException, InterruptedException {
        return noRedirect.send(request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(30)).header("User-Agent", "qwen-all-in-one");
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        return b;
    }

    private static String unquote(String etag) {
        return etag.replace("W/", "").replace("\"", "").trim();
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
