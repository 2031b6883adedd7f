package dev.allinone.api;

import dev.allinone.config.AllInOneConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Replies in progress per client (remote address), capped by {@code allinone.chat.max-active-per-client}. */
@ApplicationScoped
public class ClientQuota {

    private final int maxActive;
    private final ConcurrentMap<String, Integer> active = new ConcurrentHashMap<>();

    ClientQuota(AllInOneConfig config) {
        this.maxActive = config.chat().maxActivePerClient();
    }

    /** Takes one slot for the client; false if it already has the maximum in progress. */
    public boolean tryAcquire(String client) {
        boolean[] acquired = {false};
        active.compute(client, (k, n) -> {
            int current = n == null ? 0 : n;
            acquired[0] = current < maxActive;
            return acquired[0] ? current + 1 : current == 0 ? null : current;
        });
        return acquired[0];
    }

    public void release(String client) {
        active.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }

    public int maxActive() {
        return maxActive;
    }

    /** The client part of a remote address such as {@code 127.0.0.1:53124} or {@code [::1]:53124}. */
    static String clientOf(String remoteAddress) {
        if (remoteAddress == null) {
            return "unknown";
        }
        int colon = remoteAddress.lastIndexOf(':');
        boolean hostThenPort = colon > 0 && (remoteAddress.indexOf(':') == colon || remoteAddress.startsWith("["));
        return hostThenPort ? remoteAddress.substring(0, colon) : remoteAddress;
    }
}
