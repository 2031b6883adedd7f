package dev.allinone.health;

import dev.allinone.ai.memory.ConversationStore;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Where conversations live and whether that works, in the readiness data. Always UP: with Redis unreachable the
 * replica still serves (sentiment and tasks need no store; chat keeps each conversation on the replica holding it),
 * and taking every replica out of the load balancer because Redis is down would stop all of that too.
 */
@Readiness
@ApplicationScoped
public class ConversationStoreCheck implements HealthCheck {

    private final ConversationStore store;

    ConversationStoreCheck(ConversationStore store) {
        this.store = store;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("conversations").up().withData("store", store.kind()).withData("state", store.state()).build();
    }
}
