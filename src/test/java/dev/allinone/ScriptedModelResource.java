package dev.allinone;

import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/** Starts the service on the tiny scripted checkpoint (generated on first use). */
public class ScriptedModelResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString());
    }

    @Override
    public void stop() {
    }
}
