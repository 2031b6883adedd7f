package dev.allinone.lifecycle;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.download.ModelDownloader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * The first start's fetch of the model when its directory is missing: progress for readiness and the web page,
 * a log line every few seconds, and one clear sentence when the hub cannot be reached.
 */
final class FirstStartDownload {

    private static final Logger LOG = Logger.getLogger(FirstStartDownload.class);
    private static final long LOG_EVERY_NANOS = 5_000_000_000L;

    private final AllInOneConfig.Model config;
    private volatile DownloadProgress progress = new DownloadProgress(0, -1, 0);

    FirstStartDownload(AllInOneConfig.Model config) {
        this.config = config;
    }

    /** Whether the model directory is missing and this start should fetch it. */
    boolean needed() {
        return config.download() && !Files.isRegularFile(EngineSettings.modelPath(config).resolve("config.json"));
    }

    /** The first message down the causes (HttpClient's connection failures carry none themselves), else the type. */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        return e.getClass().getSimpleName();
    }

    DownloadProgress progress() {
        return progress;
    }

    /** Fetches every file into the model directory; an {@link IOException}'s message says what to do about it. */
    void run() throws IOException, InterruptedException {
        Path dir = EngineSettings.modelPath(config);
        String source = config.hubEndpoint() + "/" + config.repo() + " (" + config.revision() + ")";
        LOG.infof("The model directory %s is missing: downloading %s into it", dir.toAbsolutePath(), source);
        long start = System.nanoTime();
        long[] lastLog = {start};
        ModelDownloader downloader = new ModelDownloader(config.hubEndpoint(), config.repo(), config.revision(),
                config.hubToken().filter(t -> !t.isBlank()), new PrintStream(OutputStream.nullOutputStream()))
                .withListener((file, done, total) -> {
                    long now = System.nanoTime();
                    progress = new DownloadProgress(done, total, done / Math.max(1e-9, (now - start) / 1e9));
                    if (now - lastLog[0] >= LOG_EVERY_NANOS) {
                        lastLog[0] = now;
                        LOG.infof("Downloading the model: %s (%s)", progress.describe(), file);
                    }
                });
        try {
            downloader.downloadAll(dir);
        } catch (IOException e) {
            throw new IOException("The model directory " + dir.toAbsolutePath() + " is missing and downloading " + source
                    + " failed (" + reason(e) + "). Check the network (or HF_ENDPOINT / HF_TOKEN), run again to resume, or put"
                    + " the model there yourself (docs/deployment.md, 'Getting the model').", e);
        }
        LOG.infof("Model downloaded into %s in %d s", dir.toAbsolutePath(), (System.nanoTime() - start) / 1_000_000_000L);
    }
}
