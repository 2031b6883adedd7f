package dev.allinone.lifecycle;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * The packaged service's entry point: starts loading the model ({@link ModelPreload#startBeforeQuarkus}) before
 * Quarkus starts, then runs Quarkus as its own main would. On a 2-core machine Quarkus needs about 0.6 s from here
 * to the point where CDI could start the load; readiness waits for both, which run side by side on the two cores
 * (docs/fast-start.md). Dev mode runs it too (the guess then reads the {@code prod} profile unless
 * {@code quarkus.profile} says otherwise, so a {@code %dev.} model setting costs a second load); tests start Quarkus
 * without it, and there the load starts with CDI.
 */
@QuarkusMain
public final class Main {

    public static void main(String... args) {
        ModelPreload.startBeforeQuarkus();
        Quarkus.run(args);
    }
}
