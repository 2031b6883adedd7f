package dev.allinone.ai;

import java.util.Collection;

/** A request named a task that no declaration defines. */
public class UnknownTaskException extends RuntimeException {

    private final String task;

    public UnknownTaskException(String task, Collection<String> known) {
        super(message(task, known));
        this.task = task;
    }

    static String message(String task, Collection<String> known) {
        return "There is no task '" + task + "'; the tasks are " + String.join(", ", known);
    }

    public String task() {
        return task;
    }
}
