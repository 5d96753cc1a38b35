//! The five classic-control environments, ported from Gymnasium 1.x
//! (`gymnasium/envs/classic_control/*.py`), with the same float widths:
//! states in `f64`, observations returned as `f32`, and float32 arithmetic
//! exactly where numpy uses it (MountainCarContinuous's state, Pendulum's
//! torque terms).

pub mod acrobot;
pub mod cartpole;
pub mod mountain_car;
pub mod mountain_car_continuous;
pub mod pendulum;

pub use acrobot::Acrobot;
pub use cartpole::CartPole;
pub use mountain_car::MountainCar;
pub use mountain_car_continuous::MountainCarContinuous;
pub use pendulum::Pendulum;
