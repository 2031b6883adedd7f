package dev.allinone.lifecycle;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.download.ModelDownloader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.jboss.logging.Logger;

/**
 * The first start's fetch of the model when its directory is missing: progress for readiness and the web page,
 * a log line every few seconds, and one clear sentence when the hub cannot be reached.
 */
final class FirstStartDownload {

    private static final Logger LOG = Logger.getLogger(FirstStartDownload.class);
    private static final long LOG_EVERY_NANOS = 5_000_000_000L;

    /** Where a download stands: bytes so far, the total (-1 unknown), bytes per second since it began. */
    record Progress(long done, long total, double bytesPerSecond) {

        int percent() {
            return total > 0 ? (int) (100 * done / total) : -1;
        }

        long secondsLeft() {
            return total > 0 && bytesPerSecond > 0 ? (long) ((total - done) / bytesPerSecond) : -1;
        }

        String describe() {
            String rate = String.format(Locale.ROOT, "%.1f MB/s", bytesPerSecond / 1e6);
            if (total <= 0) {
                return String.format(Locale.ROOT, "%.0f MB, %s", done / 1e6, rate);
            }
            return String.format(Locale.ROOT, "%d %% of %.0f MB, %s, about %d s left", percent(), total / 1e6, rate, secondsLeft());
        }
    }

    private final AllInOneConfig.Model config;
    private volatile Progress progress = new Progress(0, -1, 0);

    FirstStartDownload(AllInOneConfig.Model config) {
        this.config = config;
    }

    /** Whether the model directory is missing and this start should fetch it. */
    boolean needed() {
        return config.download() && !Files.isRegularFile(config.path().resolve("config.json"));
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

    Progress progress() {
        return progress;
    }

    /** Fetches every file into the model directory; an {@link IOException}'s message says what to do about it. */
    void run() throws IOException, InterruptedException {
        Path dir = config.path();
        String source = config.hubEndpoint() + "/" + config.repo() + " (" + config.revision() + ")";
        LOG.infof("The model directory %s is missing: downloading %s into it", dir.toAbsolutePath(), source);
        long start = System.nanoTime();
        long[] lastLog = {start};
        ModelDownloader downloader = new ModelDownloader(config.hubEndpoint(), config.repo(), config.revision(),
                config.hubToken().filter(t -> !t.isBlank()), new PrintStream(OutputStream.nullOutputStream()))
                .withListener((file, done, total) -> {
                    long now = System.nanoTime();
                    progress = new Progress(done, total, done / Math.max(1e-9, (now - start) / 1e9));
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
