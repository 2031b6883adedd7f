package dev.allinone.api;

import dev.allinone.config.AllInOneConfig;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.net.InetAddress;

/**
 * {@code X-Served-By: <replica>} on every answer the guard lets through (WebSocket handshakes included), so a client
 * or an operator behind a proxy sees which replica holds a conversation: {@code allinone.instance}, else the host name
 * (a pod's name on Kubernetes).
 */
@ApplicationScoped
public class ServedBy {

    public static final String HEADER = "X-Served-By";

    private final String instance;

    ServedBy(AllInOneConfig config) {
        this.instance = config.instance().orElseGet(ServedBy::hostName);
    }

    void register(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE + 1).handler(ctx -> {
            ctx.response().putHeader(HEADER, instance);
            ctx.next();
        });
    }

    static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
