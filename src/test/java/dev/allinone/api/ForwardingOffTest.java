package dev.allinone.api;

import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;

/**
 * {@link UntrustedProxyTest}'s checks with the service's default, forwarding off: an {@code X-Forwarded-For} from
 * anyone changes nothing, so connections from loopback claiming other addresses share loopback's turns.
 */
@QuarkusTest
@TestProfile(ForwardingOffTest.Defaults.class)
class ForwardingOffTest extends UntrustedProxyTest {

    public static class Defaults implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(),
                    "allinone.generation.max-new-tokens", "1500",
                    "allinone.chat.max-active-per-client", "1");
        }
    }
}
