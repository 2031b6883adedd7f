package dev.allinone.engine.sampling.json;

import java.math.BigDecimal;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The byte automaton of one compiled schema: a state is the set of ways the text so far can continue (each a stack of
 * {@link Frame}s: what must still be written, innermost first), so {@code anyOf}, optional properties and a number's
 * end need no look-ahead. States are interned: equal sets are one {@link State}, whose transitions and token masks are
 * computed once and kept. Text is compact JSON (no whitespace between tokens), UTF-8 checked byte by byte, so a
 * character split across tokens is followed exactly.
 */
final class Automaton {

    /** States kept at most; beyond, the table starts afresh (states in use keep working). */
    private static final int MAX_STATES = 200_000;

    private static final Node.Literal OPEN_BRACE = new Node.Literal("{");
    private static final Node.Literal CLOSE_BRACE = new Node.Literal("}");
    private static final Node.Literal OPEN_BRACKET = new Node.Literal("[");
    private static final Node.Literal CLOSE_BRACKET = new Node.Literal("]");
    private static final Node.Literal COMMA = new Node.Literal(",");
    private static final Node.Literal COLON = new Node.Literal(":");
    private static final Node.Literal QUOTE = new Node.Literal("\"");
    private static final Node.StringNode ANY_STRING = new Node.StringNode(0, Integer.MAX_VALUE);
    private static final Node.NumberNode ANY_NUMBER = new Node.NumberNode(false, null, null);
    private static final Node.Literals ANY_SCALAR = new Node.Literals(List.of(new Node.Literal("true"), new Node.Literal("false"),
            new Node.Literal("null")));

    /** What must still be written, innermost first; {@link #END} is "nothing" (the text is complete). */
    record Stack(Frame top, Stack rest) {
        Stack push(Frame f) {
            return new Stack(f, this);
        }
    }

    static final Stack END = new Stack(null, null);

    sealed interface Frame {
    }

    /** The rest of a literal, from byte {@code pos}. */
    record Lit(Node.Literal literal, int pos) implements Frame {
    }

    /** A value still to begin (only while a state is built; never part of one). */
    record Value(Node node) implements Frame {
    }

    /** Inside an object after the properties before {@code next}; {@code any}: one was written. */
    record ObjectRest(Node.ObjectNode node, int next, boolean any) implements Frame {
    }

    /** Inside an array after {@code count} items. */
    record ArrayRest(Node.ArrayNode node, int count) implements Frame {
    }

    /** Inside a free object or array of {@code json_object} whose members are {@code member}. */
    record AnyRest(Node.AnyValue member, boolean object, boolean first) implements Frame {
    }

    /**
     * Inside a string after its opening quote: {@code count} characters (capped), {@code escape} after a backslash,
     * {@code pending} continuation bytes still owed to a multi-byte character, the next one in [{@code lo}, {@code hi}].
     */
    record Str(Node.StringNode node, int count, boolean escape, int pending, int lo, int hi) implements Frame {
    }

    /**
     * Inside a number. {@code phase}: 0 nothing yet, 1 after '-', 2 integer digits, 3 after a leading 0, 4 after '.',
     * 5 fraction digits. {@code text} is what was written, kept only when the value is bounded.
     */
    record Num(Node.NumberNode node, int phase, int intDigits, int fractionDigits, boolean negative, String text) implements Frame {
    }

    final Node root;
    final State start;
    private final ConcurrentHashMap<Set<Stack>, State> states = new ConcurrentHashMap<>();
    final State dead;

    Automaton(Node root) {
        this.root = root;
        this.dead = new State(this, Set.of());
        Set<Stack> initial = new HashSet<>();
        expand(END.push(new Value(root)), initial);
        this.start = intern(initial);
    }

    /** Any JSON object, containers nested at most {@code depth} deep (the object itself counts). */
    static Node anyObject(int depth) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth must be at least 1");
        }
        Node.AnyValue member = new Node.AnyValue(depth - 1);
        for (Node.AnyValue v = member; v.depth > 0; v = v.inner) {
            v.inner = new Node.AnyValue(v.depth - 1);
        }
        return new Node.AnyObject(member);
    }

    State intern(Set<Stack> stacks) {
        if (stacks.isEmpty()) {
            return dead;
        }
        State s = states.get(stacks);
        if (s != null) {
            return s;
        }
        if (states.size() > MAX_STATES) {
            states.clear();
        }
        return states.computeIfAbsent(Set.copyOf(stacks), k -> new State(this, k));
    }

    /** The successors of every stack of {@code from} on {@code b}. */
    Set<Stack> step(Set<Stack> from, int b) {
        Set<Stack> out = new HashSet<>();
        for (Stack s : from) {
            step(s, b, out);
        }
        return out;
    }

    private void step(Stack s, int b, Set<Stack> out) {
        if (s == END) {
            return;
        }
        switch (s.top()) {
            case Lit l -> {
                if ((l.literal().bytes[l.pos()] & 0xFF) == b) {
                    if (l.pos() + 1 == l.literal().bytes.length) {
                        expand(s.rest(), out);
                    } else {
                        out.add(s.rest().push(new Lit(l.literal(), l.pos() + 1)));
                    }
                }
            }
            case Str str -> stepString(str, s.rest(), b, out);
            case Num n -> {
                Num next = stepNumber(n, b);
                if (next != null) {
                    expand(s.rest().push(next), out); // a number may end wherever it is complete
                }
            }
            default -> throw new IllegalStateException("Unexpanded frame " + s.top());
        }
    }

    private void stepString(Str s, Stack rest, int b, Set<Stack> out) {
        Node.StringNode node = s.node();
        if (s.pending() > 0) {
            if (b >= s.lo() && b <= s.hi()) {
                out.add(rest.push(new Str(node, s.count(), false, s.pending() - 1, 0x80, 0xBF)));
            }
            return;
        }
        if (s.escape()) {
            if ("\"\\/bfnrt".indexOf(b) >= 0) {
                out.add(rest.push(counted(s, 0, 0x80, 0xBF)));
            }
            return;
        }
        boolean room = s.count() < node.maxLength;
        if (b == '"') {
            if (s.count() >= node.minLength) {
                expand(rest, out);
            }
        } else if (b == '\\') {
            if (room) {
                out.add(rest.push(new Str(node, s.count(), true, 0, 0x80, 0xBF)));
            }
        } else if (b >= 0x20 && b < 0x80) {
            if (room) {
                out.add(rest.push(counted(s, 0, 0x80, 0xBF)));
            }
        } else if (room && b >= 0xC2 && b <= 0xDF) {
            out.add(rest.push(counted(s, 1, 0x80, 0xBF)));
        } else if (room && b >= 0xE0 && b <= 0xEF) {
            out.add(rest.push(counted(s, 2, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF)));
        } else if (room && b >= 0xF0 && b <= 0xF4) {
            out.add(rest.push(counted(s, 3, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF)));
        }
    }

    /** One more character begun; counts past the node's cap are all alike. */
    private static Str counted(Str s, int pending, int lo, int hi) {
        return new Str(s.node(), Math.min(s.count() + 1, s.node().countCap()), false, pending, lo, hi);
    }

    private static Num stepNumber(Num n, int b) {
        Node.NumberNode node = n.node();
        boolean digit = b >= '0' && b <= '9';
        int phase;
        int intDigits = n.intDigits();
        int fractionDigits = n.fractionDigits();
        boolean negative = n.negative();
        switch (n.phase()) {
            case 0, 1 -> {
                if (b == '-' && n.phase() == 0) {
                    phase = 1;
                    negative = true;
                } else if (b == '0') {
                    phase = 3;
                    intDigits = 1;
                } else if (digit) {
                    phase = 2;
                    intDigits = 1;
                } else {
                    return null;
                }
            }
            case 2, 3 -> {
                if (digit && n.phase() == 2 && intDigits < SchemaCompiler.MAX_INT_DIGITS) {
                    phase = 2;
                    intDigits++;
                } else if (b == '.' && !node.integer) {
                    phase = 4;
                } else {
                    return null;
                }
            }
            case 4, 5 -> {
                if (digit && fractionDigits < SchemaCompiler.MAX_FRACTION_DIGITS) {
                    phase = 5;
                    fractionDigits++;
                } else {
                    return null;
                }
            }
            default -> throw new IllegalStateException();
        }
        boolean bounded = node.minimum != null || node.maximum != null;
        Num next = new Num(node, phase, intDigits, fractionDigits, negative, bounded ? n.text() + (char) b : "");
        return !bounded || feasible(next) ? next : null;
    }

    /** Whether some number beginning with what {@code n} has written lies within the node's bounds. */
    private static boolean feasible(Num n) {
        Node.NumberNode node = n.node();
        BigDecimal lo;
        BigDecimal hi; // the magnitudes reachable: [lo, hi)
        String digits = n.negative() ? n.text().substring(1) : n.text();
        switch (n.phase()) {
            case 1 -> {
                lo = BigDecimal.ZERO;
                hi = BigDecimal.TEN.pow(SchemaCompiler.MAX_INT_DIGITS);
            }
            case 3 -> {
                lo = BigDecimal.ZERO;
                hi = BigDecimal.ONE;
            }
            case 2 -> {
                BigDecimal m = new BigDecimal(digits);
                int more = SchemaCompiler.MAX_INT_DIGITS - n.intDigits();
                for (int k = 0; k <= more; k++) {
                    BigDecimal scale = BigDecimal.TEN.pow(k);
                    if (overlaps(n.negative(), m.multiply(scale), m.add(BigDecimal.ONE).multiply(scale), node)) {
                        return true;
                    }
                }
                return false;
            }
            default -> {
                String d = digits.endsWith(".") ? digits + "0" : digits;
                lo = new BigDecimal(d);
                hi = lo.add(BigDecimal.ONE.movePointLeft(n.fractionDigits()));
            }
        }
        return overlaps(n.negative(), lo, hi, node);
    }

    /** Whether a value of magnitude in [lo, hi), negative if asked (and then not zero), lies within the bounds. */
    private static boolean overlaps(boolean negative, BigDecimal lo, BigDecimal hi, Node.NumberNode node) {
        if (node.integer) {
            // integers in [lo, hi): [ceil(lo), ceil(hi) - 1]
            BigDecimal first = lo.setScale(0, java.math.RoundingMode.CEILING);
            BigDecimal last = hi.setScale(0, java.math.RoundingMode.CEILING).subtract(BigDecimal.ONE);
            if (negative && first.signum() == 0) {
                first = BigDecimal.ONE;
            }
            if (first.compareTo(last) > 0) {
                return false;
            }
            BigDecimal a = negative ? last.negate() : first;
            BigDecimal b = negative ? first.negate() : last;
            return (node.maximum == null || a.compareTo(node.maximum) <= 0) && (node.minimum == null || b.compareTo(node.minimum) >= 0);
        }
        if (negative) {
            // values in (-hi, -lo], below zero (never -0)
            BigDecimal upper = lo.negate();
            if (node.maximum != null && node.maximum.compareTo(upper) < 0) {
                upper = node.maximum;
            }
            boolean upperOpen = false;
            if (upper.signum() >= 0) {
                upper = BigDecimal.ZERO;
                upperOpen = true;
            }
            BigDecimal lower = hi.negate();
            boolean lowerOpen = true;
            if (node.minimum != null && node.minimum.compareTo(lower) > 0) {
                lower = node.minimum;
                lowerOpen = false;
            }
            int c = lower.compareTo(upper);
            return c < 0 || (c == 0 && !lowerOpen && !upperOpen);
        }
        return (node.maximum == null || lo.compareTo(node.maximum) <= 0) && (node.minimum == null || hi.compareTo(node.minimum) > 0);
    }

    /** A number may end here: digits written, within bounds, not a negative zero. */
    static boolean complete(Num n) {
        if (n.phase() != 2 && n.phase() != 3 && n.phase() != 5) {
            return false;
        }
        Node.NumberNode node = n.node();
        if (node.minimum == null && node.maximum == null) {
            return true;
        }
        BigDecimal v = new BigDecimal(n.text());
        if (n.negative() && v.signum() == 0) {
            return false;
        }
        return (node.minimum == null || v.compareTo(node.minimum) >= 0) && (node.maximum == null || v.compareTo(node.maximum) <= 0);
    }

    /** Adds the stacks {@code s} stands for once every frame that writes nothing by itself is resolved. */
    void expand(Stack s, Set<Stack> out) {
        if (s == END) {
            out.add(END);
            return;
        }
        switch (s.top()) {
            case Lit l -> out.add(s);
            case Str str -> out.add(s);
            case Num n -> {
                out.add(s);
                if (complete(n)) {
                    expand(s.rest(), out);
                }
            }
            case Value v -> value(v.node(), s.rest(), out);
            case ObjectRest o -> {
                List<Node.Property> props = o.node().properties;
                boolean requiredLeft = false;
                for (int j = o.next(); j < props.size(); j++) {
                    Node.Property p = props.get(j);
                    out.add(s.rest().push(new ObjectRest(o.node(), j + 1, true)).push(new Value(p.value()))
                            .push(new Lit(o.any() ? p.later() : p.first(), 0)));
                    if (p.required()) {
                        requiredLeft = true;
                        break;
                    }
                }
                if (!requiredLeft) {
                    out.add(s.rest().push(new Lit(CLOSE_BRACE, 0)));
                }
                // the pushed Value frames sit under a literal: they are expanded when the literal ends
            }
            case ArrayRest a -> {
                Node.ArrayNode node = a.node();
                if (a.count() < node.maxItems) {
                    Stack item = s.rest().push(new ArrayRest(node, a.count() + 1)).push(new Value(node.items));
                    if (a.count() == 0) {
                        expand(item, out);
                    } else {
                        out.add(item.push(new Lit(COMMA, 0)));
                    }
                }
                if (a.count() >= node.minItems) {
                    out.add(s.rest().push(new Lit(CLOSE_BRACKET, 0)));
                }
            }
            case AnyRest r -> {
                out.add(s.rest().push(new Lit(r.object() ? CLOSE_BRACE : CLOSE_BRACKET, 0)));
                Stack next = s.rest().push(new AnyRest(r.member(), r.object(), false)).push(new Value(r.member()));
                if (r.object()) {
                    next = next.push(new Lit(COLON, 0)).push(new Str(ANY_STRING, 0, false, 0, 0x80, 0xBF));
                    out.add(next.push(new Lit(r.first() ? QUOTE : COMMA_QUOTE, 0)));
                } else if (r.first()) {
                    expand(next, out);
                } else {
                    out.add(next.push(new Lit(COMMA, 0)));
                }
            }
        }
    }

    private static final Node.Literal COMMA_QUOTE = new Node.Literal(",\"");

    private void value(Node node, Stack rest, Set<Stack> out) {
        switch (node) {
            case Node.ObjectNode o -> out.add(rest.push(new ObjectRest(o, 0, false)).push(new Lit(OPEN_BRACE, 0)));
            case Node.ArrayNode a -> out.add(rest.push(new ArrayRest(a, 0)).push(new Lit(OPEN_BRACKET, 0)));
            case Node.StringNode str -> out.add(rest.push(new Str(str, 0, false, 0, 0x80, 0xBF)).push(new Lit(QUOTE, 0)));
            case Node.NumberNode n -> out.add(rest.push(new Num(n, 0, 0, 0, false, "")));
            case Node.Literals l -> {
                for (Node.Literal lit : l.values) {
                    out.add(rest.push(new Lit(lit, 0)));
                }
            }
            case Node.AnyOf a -> {
                for (Node alt : a.alternatives) {
                    value(alt, rest, out);
                }
            }
            case Node.AnyObject o -> out.add(rest.push(new AnyRest(o.member, true, true)).push(new Lit(OPEN_BRACE, 0)));
            case Node.AnyValue v -> {
                value(ANY_SCALAR, rest, out);
                value(ANY_STRING, rest, out);
                value(ANY_NUMBER, rest, out);
                if (v.depth > 0) {
                    out.add(rest.push(new AnyRest(v.inner, true, true)).push(new Lit(OPEN_BRACE, 0)));
                    out.add(rest.push(new AnyRest(v.inner, false, true)).push(new Lit(OPEN_BRACKET, 0)));
                }
            }
        }
    }
}
