package dev.allinone.engine;

/** The service is shutting down: no new work is taken, and work still running when the grace period ends stops. */
public class ShuttingDownException extends RuntimeException {
    public ShuttingDownException(String message) {
        super(message);
    }
}
