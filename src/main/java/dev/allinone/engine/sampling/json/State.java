package dev.allinone.engine.sampling.json;

import java.util.Set;

/**
 * One state of an {@link Automaton}: its transitions on each byte and its token masks are computed on first use and
 * kept (several model-thread workers may compute one at the same time; they compute the same thing).
 */
final class State {

    final Automaton automaton;
    final Set<Automaton.Stack> stacks;
    final boolean accepting;
    private final int hash;
    private final State[] next = new State[256];
    /** The allowed tokens for the one vocabulary this state was last asked about. */
    private volatile Mask mask;

    record Mask(Vocabulary vocabulary, long[] bits) {
    }

    State(Automaton automaton, Set<Automaton.Stack> stacks) {
        this.automaton = automaton;
        this.stacks = stacks;
        this.accepting = stacks.contains(Automaton.END);
        this.hash = stacks.hashCode();
    }

    boolean dead() {
        return stacks.isEmpty();
    }

    State next(int b) {
        State s = next[b];
        if (s == null) {
            s = dead() ? this : automaton.intern(automaton.step(stacks, b));
            next[b] = s;
        }
        return s;
    }

    long[] mask(Vocabulary vocabulary) {
        Mask m = mask;
        if (m == null || m.vocabulary() != vocabulary) {
            m = new Mask(vocabulary, vocabulary.allowed(this));
            mask = m;
        }
        return m.bits();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof State s && s.hash == hash && s.stacks.equals(stacks);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
