package dev.allinone.engine.sampling;

import java.util.List;

/**
 * Ends a reply at the first of its stop strings. Text that could still turn out to begin a stop string is held
 * back, so a caller never receives part of one: what {@link #accept} returns is final.
 */
public final class StopStrings {

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean matched;

    public StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Takes the next piece of the reply and returns the text now known to come before any stop string. */
    public String accept(String piece) {
        if (stops.isEmpty()) {
            return piece;
        }
        if (matched) {
            return "";
        }
        held.append(piece);
        int cut = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            matched = true;
            String before = held.substring(0, cut);
            held.setLength(0);
            return before;
        }
        int keep = longestSuffixStartingAStop();
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    public boolean matched() {
        return matched;
    }

    /** At the end of the reply: what was held back is plain text after all. */
    public String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }

    private int longestSuffixStartingAStop() {
        String text = held.toString();
        int best = 0;
        for (String stop : stops) {
            for (int len = Math.min(stop.length() - 1, text.length()); len > best; len--) {
                if (text.regionMatches(text.length() - len, stop, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
