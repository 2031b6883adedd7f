package dev.allinone.engine;

/** A running (or queued) generation; cancelling takes effect before its next token step. */
public interface Generation {

    void cancel();

    boolean isCancelled();
}
