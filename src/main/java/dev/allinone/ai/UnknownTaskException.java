package dev.allinone.ai;

import java.util.Collection;

/** A request named a task that no declaration defines. */
public class UnknownTaskException extends RuntimeException {

    private final String task;

    public UnknownTaskException(String task, Collection<String> known) {
        super("There is no task '" + task + "'; the tasks are " + String.join(", ", known));
        this.task = task;
    }

    public String task() {
        return task;
    }
}
