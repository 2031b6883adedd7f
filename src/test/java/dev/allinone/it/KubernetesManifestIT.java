package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.DocumentedDefaultsTest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The Kubernetes manifests {@code -Pcontainer} generates, parsed, against what the README promises: the three
 * probes, the resources, the volumes, the non-root user, and a grace period above the service's own shutdown delay.
 */
@EnabledIfSystemProperty(named = "allinone.it.image", matches = ".+")
class KubernetesManifestIT {

    @Test
    void theDeploymentHasTheDocumentedProbesResourcesVolumesAndGracePeriod() throws IOException {
        List<JsonNode> documents;
        try (MappingIterator<JsonNode> it = new ObjectMapper(new YAMLFactory()).readerFor(JsonNode.class)
                .readValues(Path.of("target", "kubernetes", "kubernetes.yml").toFile())) {
            documents = it.readAll();
        }
        JsonNode service = kind(documents, "Service");
        assertEquals(8080, service.at("/spec/ports/0/targetPort").asInt());

        JsonNode pod = kind(documents, "Deployment").at("/spec/template/spec");
        JsonNode container = pod.at("/containers/0");
        assertProbe(container.path("startupProbe"), "/q/health/started", 2, 90);
        assertProbe(container.path("readinessProbe"), "/q/health/ready", 5, 2);
        assertEquals("/q/health/live", container.at("/livenessProbe/httpGet/path").asText());
        assertTrue(container.at("/startupProbe/periodSeconds").asInt() * container.at("/startupProbe/failureThreshold").asInt() >= 180,
                "the startup probe allows 3 minutes for the first load");

        assertEquals("2", container.at("/resources/requests/cpu").asText());
        assertEquals("800Mi", container.at("/resources/requests/memory").asText());
        assertEquals("1Gi", container.at("/resources/limits/memory").asText());

        assertEquals("0.0.0.0", env(container, "QUARKUS_HTTP_HOST"));
        assertMount(container, "/models", true);
        assertMount(container, "/cache", false);
        assertEquals("qwen-model", volume(pod, "model").at("/persistentVolumeClaim/claimName").asText());
        assertTrue(volume(pod, "cache").has("emptyDir"));

        assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean());
        assertEquals(185, pod.at("/securityContext/runAsUser").asInt());
        long grace = pod.path("terminationGracePeriodSeconds").asLong();
        Duration shutdownDelay = Duration.parse("PT" + applicationProperty("%prod.quarkus.shutdown.delay").toUpperCase());
        Duration drain = DocumentedDefaultsTest.DEFAULTS.getConfigMapping(AllInOneConfig.class).engine().drainTimeout();
        assertTrue(drain.compareTo(shutdownDelay) < 0, "replies drain within the shutdown delay");
        assertTrue(grace > shutdownDelay.toSeconds(), "grace period " + grace + " s must exceed the shutdown delay " + shutdownDelay);
    }

    /**
     * Chat reaches the pod of its conversation (ingress-nginx hashing on the header or the WebSocket parameter, long
     * timeouts, no buffering); the rest is balanced freely; KEDA scales on the service's queue gauges.
     */
    @Test
    void theIngressRoutesChatByConversationAndKedaScalesOnTheQueues() throws IOException {
        List<JsonNode> documents;
        try (MappingIterator<JsonNode> it = new ObjectMapper(new YAMLFactory()).readerFor(JsonNode.class)
                .readValues(Path.of("target", "kubernetes", "kubernetes.yml").toFile())) {
            documents = it.readAll();
        }
        String servicePort = kind(documents, "Service").at("/spec/ports/0/name").asText();
        List<JsonNode> ingresses = documents.stream().filter(d -> d.path("kind").asText().equals("Ingress")).toList();
        assertEquals(2, ingresses.size(), ingresses.toString());
        JsonNode chat = ingresses.stream().filter(i -> i.at("/metadata/name").asText().endsWith("-chat")).findFirst().orElseThrow();
        JsonNode annotations = chat.at("/metadata/annotations");
        assertEquals("$http_x_conversation_id$arg_conversation", annotations.path("nginx.ingress.kubernetes.io/upstream-hash-by").asText());
        assertTrue(annotations.path("nginx.ingress.kubernetes.io/proxy-read-timeout").asInt() >= 3600, annotations.toString());
        assertEquals("off", annotations.path("nginx.ingress.kubernetes.io/proxy-buffering").asText());
        List<String> chatPaths = new java.util.ArrayList<>();
        for (JsonNode path : chat.at("/spec/rules/0/http/paths")) {
            chatPaths.add(path.path("path").asText());
            assertEquals(servicePort, path.at("/backend/service/port/name").asText(), "the Service's port name");
        }
        assertEquals(List.of("/chat", "/api/chat"), chatPaths);

        JsonNode keda = kind(documents, "ScaledObject");
        assertEquals(kind(documents, "Deployment").at("/metadata/name").asText(), keda.at("/spec/scaleTargetRef/name").asText());
        String query = keda.at("/spec/triggers/0/metadata/query").asText();
        for (String series : List.of("allinone_engine_requests_running", "allinone_engine_requests_waiting", "allinone_chat_turns_waiting")) {
            assertTrue(query.contains(series), query);
        }
    }

    private static JsonNode kind(List<JsonNode> documents, String kind) {
        return documents.stream().filter(d -> d.path("kind").asText().equals(kind)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " in the manifests"));
    }

    private static void assertProbe(JsonNode probe, String path, int period, int failures) {
        assertEquals(path, probe.at("/httpGet/path").asText(), probe.toString());
        assertEquals(8080, probe.at("/httpGet/port").asInt(), probe.toString());
        assertEquals(period, probe.path("periodSeconds").asInt(), probe.toString());
        assertEquals(failures, probe.path("failureThreshold").asInt(), probe.toString());
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e.path("value").asText();
            }
        }
        throw new AssertionError("no env " + name);
    }

    private static void assertMount(JsonNode container, String path, boolean readOnly) {
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(path)) {
                assertEquals(readOnly, m.path("readOnly").asBoolean(), m.toString());
                return;
            }
        }
        throw new AssertionError("nothing mounted at " + path);
    }

    private static JsonNode volume(JsonNode pod, String name) {
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    private static String applicationProperty(String key) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src", "main", "resources", "application.properties"))) {
            properties.load(in);
        }
        return properties.getProperty(key);
    }
}
