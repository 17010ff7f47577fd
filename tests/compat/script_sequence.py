"""Tutorial-style sequence models: a word-level LSTM language model, a char-level RNN name
classifier with packed sequences, and a GRU seq2seq with additive attention."""
import numpy as np

from compat_harness import as_tensor, numpy_init


def word_lstm_lm(torch, steps):
    """Word-level LM (pytorch/examples' word_language_model shape): batchify a corpus into
    columns, Embedding -> LSTM -> Linear, truncated BPTT with detached hidden state,
    clip_grad_norm_, plain SGD; one epoch per step, mean loss per epoch."""
    nn = torch.nn
    rng = np.random.default_rng(20)
    words = "the cat dog sat ran on a mat log fast <eos>".split()
    # Sentences follow a fixed grammar, so the next word is predictable.
    sentences = [["the", rng.choice(["cat", "dog"]), rng.choice(["sat", "ran"]),
                  "on", "a", rng.choice(["mat", "log"]), "<eos>"] for _ in range(40)]
    ids = np.array([words.index(w) for s in sentences for w in s], np.int64)
    batch, bptt, vocab = 4, 7, len(words)
    n = len(ids) // batch
    corpus = as_tensor(torch, ids[: n * batch]).view(batch, -1).t().contiguous()

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, 16)
            self.rnn = nn.LSTM(16, 24, num_layers=2)
            self.decoder = nn.Linear(24, vocab)

        def forward(self, x, hidden):
            out, hidden = self.rnn(self.encoder(x), hidden)
            return self.decoder(out), hidden

    model = numpy_init(torch, LM(), 20)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    losses = []
    for _ in range(steps):
        hidden = (torch.zeros(2, batch, 24), torch.zeros(2, batch, 24))
        total, count = 0.0, 0
        for i in range(0, corpus.size(0) - 1, bptt):
            seq_len = min(bptt, corpus.size(0) - 1 - i)
            data, target = corpus[i:i + seq_len], corpus[i + 1:i + 1 + seq_len].reshape(-1)
            hidden = tuple(h.detach() for h in hidden)
            optimizer.zero_grad()
            output, hidden = model(data, hidden)
            loss = criterion(output.view(-1, vocab), target)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optimizer.step()
            total, count = total + loss.item(), count + 1
        losses.append(total / count)
    return {"losses": losses, "output_shape": tuple(output.shape),
            "hidden_shape": tuple(hidden[0].shape)}


def rnn_names(torch, steps):
    """Char-level name classification: synthetic names from three "languages" (disjoint
    letter pools), one-hot characters, pad_sequence + pack_padded_sequence into nn.RNN,
    last hidden state -> Linear -> LogSoftmax, NLLLoss, SGD."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(21)
    pools = ["aeiou", "bcdfg", "klmnp"]
    letters = "".join(pools)
    names, labels = [], []
    for _ in range(30):
        lang = int(rng.integers(0, 3))
        length = int(rng.integers(2, 7))
        names.append("".join(rng.choice(list(pools[lang]), length)))
        labels.append(lang)
    order = sorted(range(len(names)), key=lambda i: -len(names[i]))
    names = [names[i] for i in order]
    target = as_tensor(torch, np.array([labels[i] for i in order]))
    lengths = [len(n) for n in names]
    seqs = [F.one_hot(as_tensor(torch, np.array([letters.index(c) for c in n])),
                      len(letters)).float() for n in names]
    padded = nn.utils.rnn.pad_sequence(seqs)  # (max_len, batch, letters)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(len(letters), 32)
            self.out = nn.Linear(32, 3)
            self.log_softmax = nn.LogSoftmax(dim=1)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths)
            _, hidden = self.rnn(packed)
            return self.log_softmax(self.out(hidden[0]))

    model = numpy_init(torch, Classifier(), 21)
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(padded, lengths)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "output_shape": tuple(output.shape),
            "padded_shape": tuple(padded.shape)}


def seq2seq_attention(torch, steps):
    """Reverse a digit sequence: GRU encoder, GRU decoder with additive (Bahdanau)
    attention over the encoder outputs (bmm + softmax), teacher forcing, NLLLoss."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(22)
    vocab, length, batch, hidden, sos = 7, 5, 16, 24, 0
    src_np = rng.integers(1, vocab, (batch, length))
    src, tgt = as_tensor(torch, src_np), as_tensor(torch, src_np[:, ::-1].copy())

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.gru = nn.GRU(hidden, hidden, batch_first=True)

        def forward(self, x):
            return self.gru(self.embedding(x))

    class AttnDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.Wa, self.Ua = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
            self.Va = nn.Linear(hidden, 1)
            self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocab)

        def step(self, token, state, keys):
            query = state.permute(1, 0, 2)  # (batch, 1, hidden)
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys))).squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            rnn_in = torch.cat((self.embedding(token), context), dim=2)
            output, state = self.gru(rnn_in, state)
            return F.log_softmax(self.out(output), dim=-1), state, weights

        def forward(self, keys, state, target):
            token = torch.full((keys.size(0), 1), sos, dtype=torch.long)
            outputs, attentions = [], []
            for i in range(target.size(1)):
                out, state, weights = self.step(token, state, keys)
                outputs.append(out)
                attentions.append(weights)
                token = target[:, i].unsqueeze(1)  # teacher forcing
            return torch.cat(outputs, dim=1), torch.cat(attentions, dim=1)

    encoder, decoder = numpy_init(torch, Encoder(), 22), numpy_init(torch, AttnDecoder(), 23)
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=5e-3)
    criterion = nn.NLLLoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        keys, state = encoder(src)
        log_probs, attn = decoder(keys, state, tgt)
        loss = criterion(log_probs.reshape(-1, vocab), tgt.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "output_shape": tuple(log_probs.shape),
            "attention_shape": tuple(attn.shape), "attention_sums": attn.sum(-1).detach().numpy()}
