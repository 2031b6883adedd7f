package dev.allinone.engine.sampling.json;

import dev.allinone.engine.tokenizer.QwenTokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * A tokenizer's ordinary tokens as a byte trie (special tokens are never part of JSON), and its end tokens. The tokens
 * a state allows are found by walking the trie and the automaton together: a branch ends where the automaton dies, so a
 * state inside structure visits a handful of nodes and one inside a string visits the tokens that can go there.
 */
public final class Vocabulary {

    private static final Map<QwenTokenizer, Vocabulary> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    final int size;
    final int[] endTokens;
    /** Trie in breadth-first order: node n's children are childStart[n] .. childStart[n + 1] - 1. */
    private final int[] childStart;
    private final byte[] nodeByte;
    /** The token whose bytes end at a node, or -1. */
    private final int[] nodeToken;
    /** Tokens with the same bytes as an earlier one (rare): they share its mask bit. */
    private final int[][] sameBytes;
    /** Each token's bytes; null for special tokens. */
    private final byte[][] tokenBytes;

    private Vocabulary(int size, List<byte[]> tokens, int[] endTokens) {
        this.size = size;
        this.endTokens = endTokens.clone();
        this.tokenBytes = tokens.toArray(byte[][]::new);
        // build with per-node child lists, then flatten breadth first
        List<int[]> children = new ArrayList<>(); // per node: sorted-by-insertion child node ids (grown on demand)
        List<Integer> childCount = new ArrayList<>();
        List<Byte> bytes = new ArrayList<>();
        List<Integer> token = new ArrayList<>();
        children.add(new int[4]);
        childCount.add(0);
        bytes.add((byte) 0);
        token.add(-1);
        java.util.Map<Integer, List<Integer>> duplicates = new java.util.HashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            byte[] t = tokens.get(id);
            if (t == null || t.length == 0) {
                continue;
            }
            int node = 0;
            for (byte b : t) {
                int found = -1;
                int[] kids = children.get(node);
                int count = childCount.get(node);
                for (int k = 0; k < count; k++) {
                    if (bytes.get(kids[k]) == b) {
                        found = kids[k];
                        break;
                    }
                }
                if (found < 0) {
                    found = bytes.size();
                    children.add(new int[2]);
                    childCount.add(0);
                    bytes.add(b);
                    token.add(-1);
                    if (count == kids.length) {
                        kids = Arrays.copyOf(kids, kids.length * 2);
                        children.set(node, kids);
                    }
                    kids[count] = found;
                    childCount.set(node, count + 1);
                }
                node = found;
            }
            if (token.get(node) >= 0) {
                duplicates.computeIfAbsent(token.get(node), k -> new ArrayList<>()).add(id);
            } else {
                token.set(node, id);
            }
        }
        int n = bytes.size();
        int[] order = new int[n];
        int[] start = new int[n + 1];
        int[] newId = new int[n];
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        queue.add(0);
        int placed = 0;
        int nextChild = 1;
        while (!queue.isEmpty()) {
            int old = queue.poll();
            order[placed] = old;
            newId[old] = placed;
            start[placed] = nextChild;
            int count = childCount.get(old);
            nextChild += count;
            int[] kids = children.get(old);
            for (int k = 0; k < count; k++) {
                queue.add(kids[k]);
            }
            placed++;
        }
        start[n] = nextChild;
        this.childStart = start;
        this.nodeByte = new byte[n];
        this.nodeToken = new int[n];
        for (int i = 0; i < n; i++) {
            nodeByte[i] = bytes.get(order[i]);
            nodeToken[i] = token.get(order[i]);
        }
        this.sameBytes = new int[size][];
        duplicates.forEach((first, others) -> sameBytes[first] = others.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The tokenizer's vocabulary, built once per tokenizer. */
    public static Vocabulary of(QwenTokenizer tokenizer, Set<Integer> endTokens) {
        synchronized (CACHE) {
            Vocabulary v = CACHE.get(tokenizer);
            int[] ends = endTokens.stream().mapToInt(Integer::intValue).sorted().toArray();
            if (v == null || !Arrays.equals(v.endTokens, ends)) {
                List<byte[]> tokens = new ArrayList<>(tokenizer.size());
                for (int id = 0; id < tokenizer.size(); id++) {
                    tokens.add(tokenizer.isValidId(id) && !tokenizer.isSpecial(id)
                            ? tokenizer.decodeBytes(new int[] {id}, 0, 1, false) : null);
                }
                v = new Vocabulary(tokenizer.size(), tokens, ends);
                CACHE.put(tokenizer, v);
            }
            return v;
        }
    }

    /** For tests: a vocabulary of the given byte strings (index = id) and end tokens. */
    static Vocabulary of(List<byte[]> tokens, int[] endTokens) {
        int[] ends = endTokens.clone();
        Arrays.sort(ends);
        return new Vocabulary(tokens.size(), tokens, ends);
    }

    /** The tokens allowed in {@code state}: bit i of word i / 64. */
    long[] allowed(State state) {
        long[] bits = new long[(size + 63) / 64];
        int[] nodes = new int[64];
        State[] states = new State[64];
        int top = 0;
        nodes[top] = 0;
        states[top++] = state;
        while (top > 0) {
            int node = nodes[--top];
            State s = states[top];
            for (int c = childStart[node]; c < childStart[node + 1]; c++) {
                State t = s.next(nodeByte[c] & 0xFF);
                if (t.dead()) {
                    continue;
                }
                int id = nodeToken[c];
                if (id >= 0) {
                    set(bits, id);
                    if (sameBytes[id] != null) {
                        for (int other : sameBytes[id]) {
                            set(bits, other);
                        }
                    }
                }
                if (childStart[c] < childStart[c + 1]) {
                    if (top == nodes.length) {
                        nodes = Arrays.copyOf(nodes, top * 2);
                        states = Arrays.copyOf(states, top * 2);
                    }
                    nodes[top] = c;
                    states[top++] = t;
                }
            }
        }
        if (state.accepting) {
            for (int end : endTokens) {
                set(bits, end);
            }
        }
        return bits;
    }

    private static void set(long[] bits, int id) {
        bits[id >>> 6] |= 1L << id;
    }

    /** The bytes a token stands for, or null for a special token. */
    byte[] bytes(int id) {
        return id >= 0 && id < tokenBytes.length ? tokenBytes[id] : null;
    }

    boolean isEnd(int id) {
        return Arrays.binarySearch(endTokens, id) >= 0;
    }
}
