package dev.allinone.engine;

/** The model's queue is full; the caller should retry later. */
public class EngineBusyException extends RuntimeException {
    public EngineBusyException(String message) {
        super(message);
    }
}
