package dev.allinone.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.config.AllInOneConfig;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Who may use the service, checked before any endpoint sees a request:
 * <ul>
 * <li>every decision is taken on the path the routers serve, {@link RoutingContext#normalizedPath()} (dot segments
 * removed, unreserved characters decoded, double slashes collapsed); a path that cannot be normalised safely — an
 * encoded slash or backslash, a backslash, a control character or {@code %00}, a broken escape, a {@code ..}
 * above the root — is refused with 400;</li>
 * <li>listening on loopback, only requests whose {@code Host} is a loopback name or address (or one of
 * {@code allinone.http.allowed-hosts}) are served — a DNS-rebinding page cannot become a same-origin client;</li>
 * <li>a WebSocket handshake, a CORS preflight or a state-changing request that carries an {@code Origin} (every
 * browser sends one) must come from the service's own origin or one of {@code allinone.http.allowed-origins} —
 * browsers do not apply CORS to WebSockets, so without this any page a user visits could chat through the user's
 * service; a request without {@code Origin} comes from a program (curl, an SDK) and passes, as with Ollama;</li>
 * <li>CORS: a preflight from an allowed origin is answered here (it never carries the key), and every answer to an
 * allowed origin — the guard's own refusals included — carries {@code Access-Control-Allow-Origin};</li>
 * <li>with {@code allinone.api-key} (or {@code allinone.api-key-file}) set, everything but {@link #OPEN} (GET or
 * HEAD of the health probes and the web page's static files) needs {@code Authorization: Bearer <key>} (a
 * browser's WebSocket, which cannot set headers, may send {@code ?api_key=<key>} instead), compared in constant
 * time.</li>
 * </ul>
 */
@ApplicationScoped
public class AccessGuard {

    private static final Logger LOG = Logger.getLogger(AccessGuard.class);
    /**
     * What GET and HEAD may reach without the key, exactly (normalised paths): the probes, the page's files and the
     * two packaged libraries it loads (WebJars: the Markdown renderer and the HTML sanitizer).
     */
    static final Set<String> OPEN = Set.of("/q/health", "/q/health/live", "/q/health/ready", "/q/health/started",
            "/", "/index.html", "/app.js", "/app.css", "/favicon.ico",
            "/webjars/marked/15.0.12/marked.min.js", "/webjars/dompurify/3.2.6/dist/purify.min.js");
    /** Never part of a path the service serves; each could make two parsers see two different paths. */
    private static final Pattern UNSAFE_IN_PATH = Pattern.compile("(?i)%2f|%5c|%00|\\\\|\\p{Cntrl}");
    private static final Pattern ENCODED_DOT = Pattern.compile("(?i)%2e");
    private static final String ALLOWED_METHODS = "GET, POST";

    private final boolean loopbackOnly;
    private final Set<String> allowedHosts;
    private final Set<String> allowedOrigins;
    private final boolean anyOrigin;
    private final Optional<byte[]> keyDigest;
    private final ObjectMapper json;

    AccessGuard(AllInOneConfig config, @ConfigProperty(name = "quarkus.http.host") String listenHost, ObjectMapper json) {
        this.loopbackOnly = isLoopback(listenHost);
        this.allowedHosts = config.http().allowedHosts().orElse(List.of()).stream().map(h -> h.toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
        List<String> origins = config.http().allowedOrigins().orElse(List.of());
        this.anyOrigin = origins.contains("*");
        this.allowedOrigins = origins.stream().filter(o -> !o.equals("*")).map(AccessGuard::normalizeOrigin)
                .collect(Collectors.toUnmodifiableSet());
        this.keyDigest = apiKey(config).map(AccessGuard::digest);
        this.json = json;
    }

    void register(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).handler(this::check);
    }

    void check(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        Optional<String> served = servedPath(ctx);
        if (served.isEmpty()) {
            LOG.debugf("Refused %s with a path that does not normalise safely", request.method());
            refuse(ctx, request.path(), 400, "bad_path", "The request path cannot be normalised safely");
            return;
        }
        String path = served.get();
        String host = request.getHeader(HttpHeaders.HOST);
        if (loopbackOnly && host != null && !hostAllowed(host)) {
            LOG.warnf("Refused %s %s: Host %s is not this machine (listening on loopback; see allinone.http.allowed-hosts)",
                    request.method(), path, host);
            refuse(ctx, path, 403, "forbidden_host", "This service only answers requests addressed to this machine");
            return;
        }
        String origin = request.getHeader(HttpHeaders.ORIGIN);
        boolean allowedOrigin = origin != null && originAllowed(origin, request);
        boolean preflight = origin != null && isPreflight(request);
        if (origin != null && (isWebSocketHandshake(request) || preflight || changesState(request.method())) && !allowedOrigin) {
            LOG.warnf("Refused %s %s from origin %s (see allinone.http.allowed-origins)", request.method(), path, origin);
            refuse(ctx, path, 403, "forbidden_origin", "Requests from the origin " + origin + " are not allowed");
            return;
        }
        if (origin != null) {
            allowCrossOrigin(ctx, origin, allowedOrigin);
        }
        if (preflight) {
            answerPreflight(ctx);
            return;
        }
        if (keyDigest.isPresent() && needsKey(request.method(), path) && !presentsKey(request)) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            refuse(ctx, path, 401, "unauthorized", "A valid API key is required: Authorization: Bearer <key>");
            return;
        }
        ctx.next();
    }

    /**
     * The path the routers will match ({@link RoutingContext#normalizedPath()}), or empty when the raw path holds
     * something normalisation would hide or that no path of ours contains, or climbs above the root.
     */
    static Optional<String> servedPath(RoutingContext ctx) {
        String raw = ctx.request().path();
        if (raw == null || UNSAFE_IN_PATH.matcher(raw).find() || climbsAboveRoot(raw)) {
            return Optional.empty();
        }
        try {
            return Optional.of(ctx.normalizedPath());
        } catch (IllegalArgumentException brokenEscape) {
            return Optional.empty();
        }
    }

    private static boolean climbsAboveRoot(String rawPath) {
        int depth = 0;
        for (String segment : ENCODED_DOT.matcher(rawPath).replaceAll(".").split("/")) {
            if (segment.equals("..")) {
                if (--depth < 0) {
                    return true;
                }
            } else if (!segment.isEmpty() && !segment.equals(".")) {
                depth++;
            }
        }
        return false;
    }

    /** Only for an origin allowed to send requests: a page elsewhere may then read our answers, refusals included. */
    private static void allowCrossOrigin(RoutingContext ctx, String origin, boolean allowed) {
        ctx.response().headers().add(HttpHeaders.VARY, HttpHeaders.ORIGIN);
        if (allowed) {
            ctx.response().putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN, origin)
                    .putHeader(HttpHeaders.ACCESS_CONTROL_EXPOSE_HEADERS, "Retry-After, WWW-Authenticate");
        }
    }

    /** Any headers the page asks for (the key is still checked on the request itself); our API's methods. */
    private static void answerPreflight(RoutingContext ctx) {
        String requestedHeaders = ctx.request().getHeader(HttpHeaders.ACCESS_CONTROL_REQUEST_HEADERS);
        HttpServerResponse response = ctx.response().putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS)
                .putHeader(HttpHeaders.ACCESS_CONTROL_MAX_AGE, "600");
        if (requestedHeaders != null) {
            response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_HEADERS, requestedHeaders);
        }
        response.setStatusCode(204).end();
    }

    private static boolean isPreflight(HttpServerRequest request) {
        return request.method().equals(HttpMethod.OPTIONS) && request.getHeader(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD) != null;
    }

    private boolean hostAllowed(String hostHeader) {
        String host = hostOnly(hostHeader);
        return isLoopback(host) || allowedHosts.contains(host);
    }

    private boolean originAllowed(String origin, HttpServerRequest request) {
        String normalized = normalizeOrigin(origin);
        return anyOrigin || allowedOrigins.contains(normalized)
                || normalized.equals(normalizeOrigin(request.scheme() + "://" + request.authority()));
    }

    private static boolean needsKey(HttpMethod method, String path) {
        return !(method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)) || !OPEN.contains(path);
    }

    private boolean presentsKey(HttpServerRequest request) {
        String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return matches(authorization.substring(7).trim());
        }
        String fromQuery = isWebSocketHandshake(request) ? request.getParam("api_key") : null;
        return fromQuery != null && matches(fromQuery);
    }

    /** Digests of equal length compared with {@link MessageDigest#isEqual}: no timing leak of content or length. */
    private boolean matches(String presented) {
        return MessageDigest.isEqual(digest(presented), keyDigest.orElseThrow());
    }

    private void refuse(RoutingContext ctx, String path, int status, String code, String detail) {
        boolean openAi = path.startsWith("/v1/");
        Object body = openAi ? new OpenAiError(status, "invalid_request_error", null, status == 401 ? "invalid_api_key" : code, detail, 0).body()
                : problem(status, code, detail);
        try {
            ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, openAi ? "application/json" : "application/problem+json")
                    .end(json.writeValueAsString(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> problem(int status, String code, String detail) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            default -> "Forbidden";
        });
        body.put("status", status);
        body.put("code", code);
        body.put("detail", detail);
        return body;
    }

    private static boolean isWebSocketHandshake(HttpServerRequest request) {
        return "websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE));
    }

    private static boolean changesState(HttpMethod method) {
        return !method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD) && !method.equals(HttpMethod.OPTIONS);
    }

    static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.endsWith(".localhost") || h.equals("::1") || h.equals("[::1]")
                || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /** {@code example.com:8080} → {@code example.com}; {@code [::1]:8080} → {@code [::1]}. */
    static String hostOnly(String hostHeader) {
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(0, end + 1) : h;
        }
        int colon = h.lastIndexOf(':');
        return colon > 0 && h.indexOf(':') == colon ? h.substring(0, colon) : h;
    }

    /** Scheme and authority in lower case, without the scheme's default port. */
    static String normalizeOrigin(String origin) {
        try {
            URI uri = URI.create(origin.trim().toLowerCase(Locale.ROOT));
            int port = uri.getPort();
            boolean defaultPort = port == -1 || (port == 80 && "http".equals(uri.getScheme())) || (port == 443 && "https".equals(uri.getScheme()));
            return uri.getScheme() + "://" + uri.getHost() + (defaultPort ? "" : ":" + port);
        } catch (IllegalArgumentException e) {
            return origin.trim().toLowerCase(Locale.ROOT);
        }
    }

    private static Optional<String> apiKey(AllInOneConfig config) {
        Optional<String> direct = config.apiKey().map(String::trim).filter(k -> !k.isEmpty());
        if (direct.isPresent()) {
            return direct;
        }
        return config.apiKeyFile().map(file -> {
            try {
                String key = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (key.isEmpty()) {
                    throw new IllegalStateException("allinone.api-key-file " + file + " is empty");
                }
                return key;
            } catch (IOException e) {
                throw new IllegalStateException("allinone.api-key-file " + file + " cannot be read: " + e.getMessage(), e);
            }
        });
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
