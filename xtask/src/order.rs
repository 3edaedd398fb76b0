//! Orders the browser module's functions for gzip.
//!
//! gzip finds repeats only within its 32 KB window, and the module's code is several times
//! that: where a function sits decides whether its byte patterns have been seen recently. The
//! order the compiler leaves is decent (better than a shuffled one or binaryen's
//! `--reorder-functions` by call count), but placing each function after the ones whose bytes
//! it shares most does better still, measured with `cargo xtask build`.
//!
//! How: the optimized module's function bodies are compared by their 4-byte substrings; a greedy
//! chain starts at the first function and always continues with the remaining one that shares
//! most substrings with the last few placed (normalised so that big functions do not win by
//! size alone). The functions are then *named* by their rank in that chain, and wasm-opt's
//! `--reorder-functions-by-name` (run with the same optimizations again, so the code is written
//! exactly as before) moves them; the names are stripped afterwards. Deterministic: the same
//! module always gets the same order.

use anyhow::{Context, Result};
use std::collections::HashSet;
use wasm_encoder::{NameMap, NameSection, Section};
use wasmparser::{Parser, Payload, TypeRef};

/// How many of the last placed functions the next one is compared with (4, 8, 12 and 16 all
/// compressed worse than 6, measured).
const WINDOW: usize = 6;

/// `wasm` with a name section naming every defined function by its place in the chain
/// (`f00000`, `f00001`, ...) and every imported function before them.
pub fn name_by_rank(wasm: &[u8]) -> Result<Vec<u8>> {
    let mut imported_functions = 0u32;
    let mut bodies: Vec<&[u8]> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.context("the module does not parse")? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_functions += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(&wasm[body.range()]),
            _ => {}
        }
    }
    let order = chain_by_similarity(&bodies);
    let mut rank = vec![0usize; bodies.len()];
    for (place, &function) in order.iter().enumerate() {
        rank[function] = place;
    }
    let mut names = NameMap::new();
    for index in 0..imported_functions {
        names.append(index, &format!("i{index:05}"));
    }
    for (function, place) in rank.iter().enumerate() {
        let index = imported_functions + u32::try_from(function)?;
        names.append(index, &format!("f{place:05}"));
    }
    let mut section = NameSection::new();
    section.functions(&names);
    let mut named = wasm.to_vec();
    section.append_to(&mut named);
    Ok(named)
}

/// The greedy chain: indexes of `bodies`, each next one the most similar to the last
/// [`WINDOW`] placed.
fn chain_by_similarity(bodies: &[&[u8]]) -> Vec<usize> {
    let substrings: Vec<HashSet<[u8; 4]>> = bodies
        .iter()
        .map(|body| body.windows(4).map(|w| [w[0], w[1], w[2], w[3]]).collect())
        .collect();
    let mut placed = vec![false; bodies.len()];
    let mut order = Vec::with_capacity(bodies.len());
    if bodies.is_empty() {
        return order;
    }
    placed[0] = true;
    order.push(0);
    while order.len() < bodies.len() {
        let mut recent: HashSet<[u8; 4]> = HashSet::new();
        for &function in order.iter().rev().take(WINDOW) {
            recent.extend(&substrings[function]);
        }
        let mut best = None;
        let mut best_score = -1.0;
        for (function, own) in substrings.iter().enumerate() {
            if placed[function] {
                continue;
            }
            let shared = own.iter().filter(|s| recent.contains(*s)).count();
            // Normalised by the square root of the size: shared bytes count, but a large
            // function must not win only by being large.
            let score = shared as f64 / ((own.len() as f64).sqrt() + 1.0);
            if score > best_score {
                best_score = score;
                best = Some(function);
            }
        }
        let next = best.expect("an unplaced function is left");
        placed[next] = true;
        order.push(next);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_bodies_end_up_next_to_each_other() {
        let a: &[u8] = b"aaaaaaaaaaaa";
        let b: &[u8] = b"bbbbbbbbbbbbbbbb";
        let a2: &[u8] = b"aaaaaaaaaaab";
        let b2: &[u8] = b"bbbbbbbbbbbbbbbc";
        let order = chain_by_similarity(&[a, b, a2, b2]);
        assert_eq!(order, [0, 2, 1, 3]);
    }

    #[test]
    fn defined_functions_are_named_by_rank_after_the_imports() {
        use wasm_encoder::{
            CodeSection, EntityType, Function, FunctionSection, Instruction, Module, TypeSection,
        };
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let mut imports = wasm_encoder::ImportSection::new();
        imports.import("env", "a", EntityType::Function(0));
        imports.import("env", "b", EntityType::Function(0));
        let mut functions = FunctionSection::new();
        let mut code = CodeSection::new();
        for constant in [7, 1, 7] {
            functions.function(0);
            let mut body = Function::new([]);
            for _ in 0..4 {
                body.instruction(&Instruction::I32Const(constant));
                body.instruction(&Instruction::Drop);
            }
            body.instruction(&Instruction::End);
            code.function(&body);
        }
        let mut module = Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&code);
        let named = name_by_rank(&module.finish()).unwrap();
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(&named) {
            if let Payload::CustomSection(section) = payload.unwrap() {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        if let wasmparser::Name::Function(map) = name.unwrap() {
                            for naming in map {
                                let naming = naming.unwrap();
                                names.push((naming.index, naming.name.to_owned()));
                            }
                        }
                    }
                }
            }
        }
        // The two bodies that push 7 go next to each other: 2 and 4 first, then 3.
        assert_eq!(
            names,
            [
                (0, "i00000".to_owned()),
                (1, "i00001".to_owned()),
                (2, "f00000".to_owned()),
                (3, "f00002".to_owned()),
                (4, "f00001".to_owned()),
            ]
        );
    }

    #[test]
    fn every_function_is_placed_once() {
        let bodies: Vec<Vec<u8>> = (0u8..50).map(|i| vec![i % 7; 5 + usize::from(i)]).collect();
        let slices: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        let mut order = chain_by_similarity(&slices);
        order.sort_unstable();
        assert_eq!(order, (0..50).collect::<Vec<_>>());
    }
}
