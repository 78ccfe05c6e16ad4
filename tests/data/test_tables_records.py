"""`tables.records`: the rows of `itertuples`, with the tuple class made once per column set."""
import numpy as np
import pandas as pd

from shnor_utils.data.tables import records


def _frame():
    return pd.DataFrame({"school_id": pd.array(["a", "b", None], dtype="string"), "year": [2025, 2026, 2026],
                         "value": [0.5, np.nan, 1.0], "класс": [5, 6, 7], "2 bad name": [1, 2, 3], "def": [True, False, True]},
                        index=[10, 20, 30])


def test_records_are_the_rows_of_itertuples_with_and_without_index():
    f = _frame()
    for index in (False, True):
        got, want = list(records(f, index=index)), list(f.itertuples(index=index))
        assert [[repr(v) for v in r] for r in got] == [[repr(v) for v in r] for r in want]   # NA and NaN too
        assert [type(v) for r in got for v in r] == [type(v) for r in want for v in r]
        assert got[0]._fields == want[0]._fields          # renamed fields (a digit, a keyword) as pandas does
    assert list(records(f))[0].класс == 5 and list(records(f, index=True))[2].Index == 30


def test_the_tuple_class_is_made_once_per_column_set():
    f = _frame()
    assert type(next(records(f))) is type(next(records(f.iloc[1:])))
    assert type(next(records(f))) is not type(next(records(f[["year"]])))
    assert list(records(f.iloc[0:0])) == []
