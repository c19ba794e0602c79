/**
 * `cl100kRankTable`: builds `cl100k_base`'s `BpeRankTable` from the ranks `js-tiktoken` ships.
 *
 * Kept apart from `Cl100kCounter` so that only the thread that builds the table loads `js-tiktoken`'s
 * megabyte of base64: the token count worker imports the counter and gets the table's shared arrays instead.
 */
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { BpeRankTable } from "./bpe_rank_table.ts";

/** A new table (~2 MiB, ~60 ms): build one per process and share it. */
export function cl100kRankTable(): BpeRankTable {
  return BpeRankTable.fromTiktokenRanks(cl100k.bpe_ranks);
}
