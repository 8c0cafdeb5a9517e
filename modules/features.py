"""The one place that names features and defines the token vocabulary."""

# Raw features written by the sample generator (bytes).
DEFS = "defs"
OP = "op"
RES = "res"
RAW_TEXT_KEYS = (DEFS, OP, RES)

# Raw int features for slicing; the label `res` is absent at serving.
OPERATION = "operation"
X_DIGITS = "x_digits"
Y_DIGITS = "y_digits"
RAW_INT_KEYS = (OPERATION, X_DIGITS, Y_DIGITS)

# Transformed features (outputs of preprocessing_fn).
ENC = "enc"
DEC = "dec"
TGT = "tgt"
ENC_PROBLEM = "enc_problem"
TGT_PROBLEM = "tgt_problem"
HINTS = "hints"
LARGER = "larger"

# The reference's fixed character vocabulary: SPC=0, SEP=1, STP=2.
VOCAB = (" ", ":", "|", "x", "y", "=", ",", "+", "-", "*",
         "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
SPC, SEP, STP = 0, 1, 2
TOKEN_OF = {ch: i for i, ch in enumerate(VOCAB)}

# The grammar of an expression's text, as serving accepts it.
DEFS_GRAMMAR = r"x=-?[0-9]+,y=-?[0-9]+|y=-?[0-9]+,x=-?[0-9]+"
OP_GRAMMAR = r"x[-+*]y|y[-+*]x"

# Operators and their codes in the `operation` feature.
OPERATORS = ("+", "-", "*")
OPERATION_CODE = {op: i for i, op in enumerate(OPERATORS)}
