fn main() {
    println!("pec");
}
