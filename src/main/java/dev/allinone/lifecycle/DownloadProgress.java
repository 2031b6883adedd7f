package dev.allinone.lifecycle;

import java.util.Locale;

/** Where the first start's download stands: bytes so far, the total (-1 unknown), bytes per second since it began. */
public record DownloadProgress(long done, long total, double bytesPerSecond) {

    /** -1 while the total is unknown. */
    public int percent() {
        return total > 0 ? (int) (100 * done / total) : -1;
    }

    /** -1 while it cannot be told. */
    public long secondsLeft() {
        return total > 0 && bytesPerSecond > 0 ? (long) ((total - done) / bytesPerSecond) : -1;
    }

    /** For people: "42 % of 886 MB, 12.3 MB/s, about 60 s left". */
    public String describe() {
        String rate = String.format(Locale.ROOT, "%.1f MB/s", bytesPerSecond / 1e6);
        if (total <= 0) {
            return String.format(Locale.ROOT, "%.0f MB, %s", done / 1e6, rate);
        }
        return String.format(Locale.ROOT, "%d %% of %.0f MB, %s, about %d s left", percent(), total / 1e6, rate, secondsLeft());
    }
}
