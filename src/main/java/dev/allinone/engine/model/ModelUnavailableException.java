package dev.allinone.engine.model;

/** The model directory is missing, incomplete or of a shape we cannot run; the message says what to do. */
public class ModelUnavailableException extends RuntimeException {
    public ModelUnavailableException(String message) {
        super(message);
    }

    public ModelUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
