package dev.allinone.engine;

/** The model is still loading, or failed to load; the message says which. */
public class ModelNotReadyException extends RuntimeException {
    public ModelNotReadyException(String message) {
        super(message);
    }
}
